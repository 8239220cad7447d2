import Foundation

/// The GoatCounter v0 API, typed: one client for the importer and the other commands.
///
/// The key goes in the `Authorization` header only; it never appears in a URL, a log line or
/// an error message.
public final class GoatCounterClient: @unchecked Sendable {
    public let site: URL
    private let apiKey: String
    private let transport: HTTPTransport

    public init(site: URL, apiKey: String, transport: HTTPTransport = AsyncHTTPTransport()) {
        var base = site.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.site = URL(string: base)!
        self.apiKey = apiKey
        self.transport = transport
    }

    /// Checks a `--site` value: an http(s) URL with a host.
    public static func parseSite(_ text: String) throws -> URL {
        guard let url = URL(string: assumesHTTPS(text) ? "https://" + text : text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty else {
            throw ClientError.badSite("--site \(redactingCredentials(text)): expected the GoatCounter site's URL, such as https://stats.example.com")
        }
        // The key travels in the Authorization header, so a user or password in the URL could
        // never be sent; refusing it here keeps it out of every later message too.
        guard url.user == nil, url.password == nil else {
            throw ClientError.badSite("--site \(redactingCredentials(text)): remove the user and password from the URL; GoatCounter takes the API key ($GOATCOUNTER_API_KEY or --api-key-file)")
        }
        return url
    }

    /// A site given without a scheme (`stats.example.com`) means https, as `goatcounter import`
    /// takes it; the caller says so.
    public static func assumesHTTPS(_ text: String) -> Bool {
        !text.contains("://") && !text.isEmpty
    }

    /// `text` with anything between the scheme and an `@` of the authority replaced by `***`:
    /// a URL as it may be printed.
    public static func redactingCredentials(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        return String(text[..<schemeEnd.upperBound]) + "***" + String(text[at...])
    }

    public enum ClientError: Error, CustomStringConvertible {
        case badSite(String)
        case badReply(String)
        public var description: String {
            switch self {
            case .badSite(let s), .badReply(let s): return s
            }
        }
    }

    func url(_ path: String) -> URL { URL(string: site.absoluteString + path)! }

    private var headers: [String: String] {
        // Sent on GETs too: GoatCounter only answers errors in JSON to JSON requests.
        ["Authorization": "Bearer \(apiKey)", "Content-Type": "application/json", "Accept": "application/json",
         "User-Agent": "goatimport"]
    }

    /// A raw exchange with the API: the reply whatever its status. `timeout`: nil for the
    /// transport's own (`--timeout`).
    public func send(_ method: String, _ path: String, body: Data? = nil, timeout: Double? = nil) throws -> HTTPResponse {
        try transport.send(method: method, url: url(path), headers: headers, body: body, timeout: timeout)
    }

    /// The transport's timeout, where a request's own starts.
    public var timeout: Double { (transport as? AsyncHTTPTransport)?.timeout ?? 60 }

    /// Decodes a 2xx reply or throws the API's error.
    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse, _ path: String) throws -> T {
        guard (200..<300).contains(response.status) else {
            throw APIError(status: response.status, body: response.body, url: url(path).absoluteString)
        }
        do { return try JSONDecoder().decode(T.self, from: response.body) } catch {
            throw ClientError.badReply("\(url(path).absoluteString): unexpected reply (\(error))")
        }
    }

    /// `GET /api/v0/me`: the user and the key's permissions.
    public func me() throws -> MeResponse {
        try decode(MeResponse.self, try send("GET", "/api/v0/me"), "/api/v0/me")
    }

    /// `POST /api/v0/count` with a body built by `Batch`; the reply is returned as is for the
    /// uploader to interpret (rate-limit headers, per-hit errors, filtered indexes).
    public func count(body: Data) throws -> HTTPResponse {
        try send("POST", "/api/v0/count", body: body)
    }

    /// Whether `text` is the API key (to keep it out of anything printed).
    public func isKey(_ text: String) -> Bool { text == apiKey }

    public var countURL: String { url("/api/v0/count").absoluteString }
}
