/// Writes a pageview as the JSON object of one count-API hit, exactly the bytes that are
/// posted (and that `--dry-run` prints).
///
/// `path` carries the query string and `query` repeats it, as GoatCounter's own count.js
/// sends `location.pathname + location.search` and `location.search`: an imported log and
/// the JavaScript counter then record the same pages and campaigns. Values over the server's
/// limits are clipped on a character boundary (the server rejects, never truncates).
public final class HitEncoder {
    public struct Limits: Sendable {
        public var path = 2048
        public var ref = 2048
        public var userAgent = 512
        public init() {}
    }

    public struct Clipped: Sendable {
        public var path = 0
        public var ref = 0
        public var userAgent = 0
        public var total: Int { path + ref + userAgent }
    }

    public let escapes: EscapeStyle
    public let userAgentEscapes: UserAgentEscapes
    public let limits: Limits
    public private(set) var clipped = Clipped()
    private let scratch = ByteBuffer(capacity: 8192)

    public init(escapes: EscapeStyle, userAgentEscapes: UserAgentEscapes = .none, limits: Limits = Limits()) {
        self.escapes = escapes
        self.userAgentEscapes = userAgentEscapes
        self.limits = limits
    }

    /// Appends `{"path":…}` (no newline). `session`, when given, is written as is (hex).
    @inline(__always)
    public func encode(_ line: UnsafePointer<UInt8>, _ pv: Pageview, session: UnsafeBufferPointer<UInt8>? = nil,
                       into out: ByteBuffer) {
        out.append("{\"path\":\"")
        let hasQuery = pv.query.isPresent
        if hasQuery && pv.query.start == pv.path.end + 1 && line[pv.path.end] == UInt8(ascii: "?") {
            // The request's own bytes, path and query together.
            if string(line + pv.path.start, pv.query.end - pv.path.start, limits.path, .percentEncode, out) { clipped.path += 1 }
        } else if hasQuery {
            scratch.removeAll()
            appendDecoded(line, pv.path, to: scratch)
            scratch.append(UInt8(ascii: "?"))
            appendDecoded(line, pv.query, to: scratch)
            if JSONString.append(scratch.base, scratch.count, maxCharacters: limits.path, invalid: .percentEncode, to: out) {
                clipped.path += 1
            }
        } else if string(line + pv.path.start, pv.path.count, limits.path, .percentEncode, out) {
            clipped.path += 1
        }
        if hasQuery {
            out.append("\",\"query\":\"?")
            string(line + pv.query.start, pv.query.count, Int.max, .percentEncode, out)
        }
        if pv.referer.isPresent {
            out.append("\",\"ref\":\"")
            if string(line + pv.referer.start, pv.referer.count, limits.ref, .percentEncode, out) { clipped.ref += 1 }
        }
        if pv.userAgent.isPresent {
            out.append("\",\"user_agent\":\"")
            if userAgent(line + pv.userAgent.start, pv.userAgent.count, out) { clipped.userAgent += 1 }
        }
        if pv.ip.isPresent {
            out.append("\",\"ip\":\"")
            string(line + pv.ip.start, pv.ip.count, 64, .replace, out)
        }
        if pv.time != Int.min {
            out.append("\",\"created_at\":\"")
            out.reserve(20)
            Timestamp.writeRFC3339(pv.time, to: out.base + out.count)
            out.count += 20
        }
        if let session {
            out.append("\",\"session\":\"")
            out.append(session.baseAddress!, count: session.count)
        }
        out.append("\"}")
    }

    /// What a hit carries in place of a visit that is looked up after it is encoded (parse
    /// lanes, and one lane overlapping the lookup's cache miss): the id is written over it.
    static let sessionPlaceholder: UnsafeBufferPointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)
        p.initialize(repeating: UInt8(ascii: "0"), count: 16)
        return UnsafeBufferPointer(start: p, count: 16)
    }()

    /// Where the session id of the hit just encoded into `out` starts: it is the hit's last
    /// value (`…"session":"<16>"}`).
    @inline(__always) static func sessionOffset(in out: ByteBuffer) -> Int { out.count - 18 }

    private func appendDecoded(_ line: UnsafePointer<UInt8>, _ span: Span, to buffer: ByteBuffer) {
        if Unescape.needed(line + span.start, span.count, escapes) {
            Unescape.decode(line + span.start, span.count, escapes, into: buffer)
        } else {
            buffer.append(line + span.start, count: span.count)
        }
    }

    @inline(__always)
    private func userAgent(_ p: UnsafePointer<UInt8>, _ count: Int, _ out: ByteBuffer) -> Bool {
        guard Unescape.needed(p, count, userAgentEscapes) else {
            return string(p, count, limits.userAgent, .replace, out)
        }
        scratch.removeAll()
        Unescape.decodeUserAgent(p, count, userAgentEscapes, into: scratch)
        return JSONString.append(scratch.base, scratch.count, maxCharacters: limits.userAgent, invalid: .replace, to: out)
    }

    /// Decodes the writer's escapes when there are any, then writes a JSON string body.
    @inline(__always) @discardableResult
    private func string(_ p: UnsafePointer<UInt8>, _ count: Int, _ max: Int, _ invalid: JSONString.Invalid,
                        _ out: ByteBuffer) -> Bool {
        if Unescape.needed(p, count, escapes) {
            scratch.removeAll()
            Unescape.decode(p, count, escapes, into: scratch)
            return JSONString.append(scratch.base, scratch.count, maxCharacters: max, invalid: invalid, to: out)
        }
        return JSONString.append(p, count, maxCharacters: max, invalid: invalid, to: out)
    }
}
