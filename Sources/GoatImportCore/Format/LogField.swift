/// The fields goatimport reads from a log line, named as the capture groups of format patterns.
///
/// Names follow nginx's variables where one exists, so a `regex:` format reads naturally to
/// anyone who has written a `log_format`.
public enum LogField: Int, CaseIterable, Sendable {
    case remoteAddr
    case remoteUser
    case timeLocal      // 10/Oct/2000:13:55:36 -0700 (CLF)
    case timeISO8601    // 2000-10-10T13:55:36-07:00
    case msec           // seconds since the epoch, with or without a fraction
    case epochMillis    // milliseconds since the epoch (Bunny CDN)
    case date           // 2000-10-10 (with `time`; W3C-style logs)
    case time           // 13:55:36
    case request        // GET /path?q HTTP/1.1
    case method
    case uri            // path with its query string, as requested
    case path           // path alone
    case query          // query string, without '?'
    case status
    case referer
    case userAgent
    case xForwardedFor
    case host

    public static let count = LogField.allCases.count

    /// The capture-group name.
    public var name: String {
        switch self {
        case .remoteAddr: return "remote_addr"
        case .remoteUser: return "remote_user"
        case .timeLocal: return "time_local"
        case .timeISO8601: return "time_iso8601"
        case .msec: return "msec"
        case .epochMillis: return "epoch_ms"
        case .date: return "date"
        case .time: return "time"
        case .request: return "request"
        case .method: return "method"
        case .uri: return "uri"
        case .path: return "path"
        case .query: return "query"
        case .status: return "status"
        case .referer: return "referer"
        case .userAgent: return "user_agent"
        case .xForwardedFor: return "x_forwarded_for"
        case .host: return "host"
        }
    }

    /// Other names accepted for a group: nginx's own variable names.
    static let aliases: [String: LogField] = [
        "http_referer": .referer, "referrer": .referer,
        "http_user_agent": .userAgent,
        "http_x_forwarded_for": .xForwardedFor, "xff": .xForwardedFor,
        "request_method": .method,
        "request_uri": .uri,
        "args": .query, "query_string": .query,
        "server_name": .host, "http_host": .host, "vhost": .host,
        "client_ip": .remoteAddr,
        "ts": .msec,
    ]

    public init?(name: String) {
        if let field = LogField.allCases.first(where: { $0.name == name }) { self = field; return }
        if let field = LogField.aliases[name] { self = field; return }
        return nil
    }
}

/// How a log writer escaped the bytes of its string fields.
public enum EscapeStyle: Sendable {
    /// nginx (`\xHH`) and Apache (`\"`, `\\`, `\xhh`, `\n`…): one decoder reads both, because
    /// nginx never writes a bare backslash.
    case backslash
    /// JSON string escapes (Caddy, nginx `escape=json`).
    case json
    /// HAProxy: `#XX` for a quote, a `#` and bytes outside printable ASCII.
    case hash
    /// Taken as written.
    case none
}

/// How a log writer kept the spaces of a user agent out of its space- or tab-separated columns.
/// Only the user agent is decoded: paths and referrers stay URLs, as written.
public enum UserAgentEscapes: Sendable {
    case none
    /// IIS and other W3C extended logs: `+` for each space.
    case plus
    /// CloudFront: `%XX` (`%20` for a space); older files encode the `%` once more (`%2520`).
    case percent
}

/// The spans of one parsed line: for each field, start and end offsets into the line, or -1.
///
/// One instance is reused for every line; parsers fill it, the pageview builder reads it.
public final class ParsedFields {
    @usableFromInline let spans: UnsafeMutablePointer<Int>

    public init() {
        spans = .allocate(capacity: 2 * LogField.count)
        clear()
    }

    deinit { spans.deallocate() }

    @inline(__always) public func clear() {
        spans.update(repeating: -1, count: 2 * LogField.count)
    }

    @inline(__always) public func set(_ field: LogField, start: Int, end: Int) {
        spans[2 * field.rawValue] = start
        spans[2 * field.rawValue + 1] = end
    }

    @inline(__always) public func has(_ field: LogField) -> Bool { spans[2 * field.rawValue] >= 0 }
    @inline(__always) public func start(_ field: LogField) -> Int { spans[2 * field.rawValue] }
    @inline(__always) public func end(_ field: LogField) -> Int { spans[2 * field.rawValue + 1] }
}
