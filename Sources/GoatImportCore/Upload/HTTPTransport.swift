import Foundation
// The fuzz build (scripts/fuzz.sh) compiles the library without async-http-client.
#if canImport(AsyncHTTPClient)
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
#endif

/// One HTTP exchange, without interpretation.
public struct HTTPResponse: Sendable {
    public let status: Int
    public let headers: [String: String]   // lower-cased names
    public let body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// A network failure: the request may or may not have reached the server.
public struct TransportError: Error, CustomStringConvertible {
    public let url: String
    public let message: String
    /// No reply within the timeout: the server may still be working on the request.
    public var timedOut = false
    public init(url: String, message: String, timedOut: Bool = false) {
        self.url = url
        self.message = message
        self.timedOut = timedOut
    }
    public var description: String { "\(url): \(message)" }
}

/// Sends requests and waits for the reply. The importer's threads are plain threads, so the
/// interface is synchronous.
public protocol HTTPTransport: AnyObject, Sendable {
    /// `timeout`: seconds the whole exchange may take; nil for the transport's own.
    func send(method: String, url: URL, headers: [String: String], body: Data?, timeout: Double?) throws -> HTTPResponse
}

#if canImport(AsyncHTTPClient)
/// async-http-client: keep-alive, connect timeout, a deadline per request (the uploader lengthens
/// it for a slow server), TLS verified against the system's roots, no redirects (a redirect from
/// the API means a wrong URL, following it would turn a POST into a GET, and the key must not
/// go to another host: the caller reports where it pointed).
///
/// FoundationNetworking's URLSession was tried first and dropped: on Linux it waits forever on a
/// 401 that carries `WWW-Authenticate`, and sits out the whole timeout when a server closes a
/// kept-alive connection without a reply.
public final class AsyncHTTPTransport: HTTPTransport, @unchecked Sendable {
    private let client: HTTPClient
    public let timeout: Double

    public init(timeout: Double = 60) {
        self.timeout = timeout
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            // A short connect timeout: async-http-client retries a refused connection until it,
            // and a wrong --site should fail at once. The read timeout is the request's deadline.
            timeout: .init(connect: .milliseconds(Int64(min(timeout, 3) * 1000))))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    public func send(method: String, url: URL, headers: [String: String], body: Data?, timeout: Double?) throws -> HTTPResponse {
        let seconds = timeout ?? self.timeout
        var nioHeaders = HTTPHeaders()
        for (name, value) in headers { nioHeaders.add(name: name, value: value) }
        do {
            let request = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method), headers: nioHeaders,
                                                 body: body.map { .data($0) })
            let response = try client.execute(request: request, deadline: .now() + .milliseconds(Int64(seconds * 1000))).wait()
            var flat: [String: String] = [:]
            for (name, value) in response.headers { flat[name.lowercased()] = value }
            let data = response.body.map { Data($0.readableBytesView) } ?? Data()
            return HTTPResponse(status: Int(response.status.code), headers: flat, body: data)
        } catch let error as HTTPClientError {
            throw TransportError(url: url.absoluteString, message: Self.describe(error),
                                 timedOut: error == .readTimeout || error == .deadlineExceeded)
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError(url: url.absoluteString, message: Self.describe(error))
        }
    }

    /// NIO's errors name the syscall; users want the reason.
    static func describe(_ error: Error) -> String {
        let text = "\(error)"
        for (needle, message) in [("Connection refused", "connection refused"), ("No route to host", "no route to host"),
                                  ("Network is unreachable", "network unreachable"), ("Name or service not known", "unknown host name"),
                                  ("NXDOMAIN", "unknown host name"),
                                  // BoringSSL's answer to a plain-HTTP reply to its hello.
                                  ("WRONG_VERSION_NUMBER", "the server does not speak TLS on this port; did you mean http://?"),
                                  ("certificate", "TLS certificate not trusted (\(text))"),
                                  ("handshake", "TLS handshake failed (\(text))")] where text.contains(needle) {
            return message
        }
        return text
    }

    static func describe(_ error: HTTPClientError) -> String {
        switch error {
        case .readTimeout, .deadlineExceeded: return "no reply in time"
        case .connectTimeout: return "connection timed out"
        case .remoteConnectionClosed: return "the server closed the connection without a reply"
        default: return describe(error as Error)
        }
    }
}
#endif
