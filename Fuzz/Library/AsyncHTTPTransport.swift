import Foundation

/// Compiled into GoatImportCore by scripts/fuzz.sh in place of the async-http-client transport,
/// which the fuzz build leaves out: parsers never send anything.
public final class AsyncHTTPTransport: HTTPTransport, @unchecked Sendable {
    public let timeout: Double
    public init(timeout: Double = 60) { self.timeout = timeout }
    public func send(method: String, url: URL, headers: [String: String], body: Data?, timeout: Double?) throws -> HTTPResponse {
        throw TransportError(url: url.absoluteString, message: "no HTTP in the fuzz build")
    }
}
