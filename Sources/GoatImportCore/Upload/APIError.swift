import Foundation

/// An error reply from the GoatCounter API: the status, the message, and the per-hit errors
/// of a count request (`{"errors":{"3":"…"}}`), whatever the reply's content type. A page from
/// something in front of the server (a proxy's 413 or 502) is told by its title, never dumped;
/// a redirect by where it points.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public let status: Int
    public let message: String
    /// Per-hit errors by index into the batch, trimmed (v2.4.1 ends them with a newline).
    public let hitErrors: [Int: String]
    public let url: String
    /// A redirect's target, resolved against `url`.
    public let location: String?

    public init(_ response: HTTPResponse, url: String) {
        self.init(status: response.status, body: response.body, url: url, location: response.header("Location"))
    }

    public init(status: Int, body: Data, url: String, location: String? = nil) {
        self.status = status
        self.url = url
        self.location = location.map { URL(string: $0, relativeTo: URL(string: url))?.absoluteString ?? $0 }
        var message = ""
        var hitErrors: [Int: String] = [:]
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            if let error = object["error"] as? String { message = error }
            if let errors = object["errors"] as? [String: Any] {
                for (key, value) in errors {
                    guard let index = Int(key) else { continue }
                    let text: String
                    if let s = value as? String { text = s }
                    else if let list = value as? [String] { text = list.joined(separator: "; ") }
                    else { text = "\(value)" }
                    hitErrors[index] = text.trimmingCharacters(in: .whitespacesAndNewlines)
                        .replacingOccurrences(of: "\n", with: "; ")
                }
            }
        } else {
            message = Self.summary(of: body)
        }
        if (300..<400).contains(status) {
            let target = self.location.map { "redirects to \($0)" } ?? "redirects (no Location)"
            message = "\(target); not followed, the API key was not sent there; check --site"
        }
        if message.isEmpty && hitErrors.isEmpty { message = HTTPURLResponseStatus.text(status) }
        self.message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        self.hitErrors = hitErrors
    }

    /// A non-JSON body in one line: an HTML page's `<title>` (or "an HTML page"), else the
    /// start of the text.
    static func summary(of body: Data) -> String {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        let lower = text.lowercased()
        if let open = lower.range(of: "<title"), let close = lower.range(of: "</title>", range: open.upperBound..<lower.endIndex),
           let start = lower.range(of: ">", range: open.upperBound..<close.lowerBound) {
            let title = oneLine(String(text[start.upperBound..<close.lowerBound]))
            if !title.isEmpty { return String(title.prefix(200)) + " (an HTML page)" }
        }
        let trimmed = lower.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("<!doctype html") || trimmed.hasPrefix("<html") { return "an HTML page" }
        return String(oneLine(text).prefix(300))
    }

    /// Whitespace runs (newlines included) as one space, control bytes dropped, a few entities decoded.
    private static func oneLine(_ text: String) -> String {
        let decoded = text.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'")
        let scalars = decoded.unicodeScalars.map { CharacterSet.whitespacesAndNewlines.contains($0) ? " " : $0 }
            .filter { $0.value >= 0x20 && $0.value != 0x7F }
        return String(String.UnicodeScalarView(scalars)).split(separator: " ").joined(separator: " ")
    }

    public var description: String {
        if !message.isEmpty { return "\(url): \(status) \(message)" }
        return "\(url): \(status) with errors for \(hitErrors.count) hit(s)"
    }
}

enum HTTPURLResponseStatus {
    static func text(_ status: Int) -> String {
        switch status {
        case 400: return "bad request"
        case 401: return "unauthorized"
        case 403: return "forbidden"
        case 404: return "not found"
        case 405: return "method not allowed"
        case 415: return "unsupported media type (the server wants Content-Type: application/json)"
        case 413: return "request too large"
        case 429: return "rate limited"
        case 500: return "internal server error"
        case 502: return "bad gateway"
        case 503: return "service unavailable"
        case 504: return "gateway timeout"
        default: return "HTTP \(status)"
        }
    }
}
