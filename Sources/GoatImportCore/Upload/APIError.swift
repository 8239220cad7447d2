import Foundation

/// An error reply from the GoatCounter API: the status, the message, and the per-hit errors
/// of a count request (`{"errors":{"3":"…"}}`), whatever the reply's content type.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public let status: Int
    public let message: String
    /// Per-hit errors by index into the batch, trimmed (v2.4.1 ends them with a newline).
    public let hitErrors: [Int: String]
    public let url: String

    public init(status: Int, body: Data, url: String) {
        self.status = status
        self.url = url
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
            message = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if message.isEmpty && hitErrors.isEmpty { message = HTTPURLResponseStatus.text(status) }
        self.message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        self.hitErrors = hitErrors
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
        case 429: return "rate limited"
        case 500: return "internal server error"
        case 502: return "bad gateway"
        case 503: return "service unavailable"
        case 504: return "gateway timeout"
        default: return "HTTP \(status)"
        }
    }
}
