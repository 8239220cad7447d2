import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
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
    public let isTimeout: Bool
    public var description: String { "\(url): \(message)" }
}

/// Sends requests and waits for the reply. The importer's threads are plain threads, so the
/// interface is synchronous; URLSession does the work (keep-alive, TLS verification, timeouts).
public protocol HTTPTransport: AnyObject, Sendable {
    func send(method: String, url: URL, headers: [String: String], body: Data?) throws -> HTTPResponse
}

public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    private let session: URLSession

    public init(timeout: TimeInterval = 60) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 2
        configuration.httpMaximumConnectionsPerHost = 2
        configuration.httpShouldUsePipelining = false
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    public func send(method: String, url: URL, headers: [String: String], body: Data?) throws -> HTTPResponse {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<HTTPResponse, Error>!
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                let nsError = error as NSError
                result = .failure(TransportError(url: url.absoluteString, message: nsError.localizedDescription,
                                                 isTimeout: nsError.code == NSURLErrorTimedOut))
            } else if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (key, value) in http.allHeaderFields {
                    if let k = key as? String, let v = value as? String { headers[k.lowercased()] = v }
                }
                result = .success(HTTPResponse(status: http.statusCode, headers: headers, body: data ?? Data()))
            } else {
                result = .failure(TransportError(url: url.absoluteString, message: "no HTTP response", isTimeout: false))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return try result.get()
    }

    /// A redirect from the API means a wrong URL; following it would turn a POST into a GET.
    private final class NoRedirects: NSObject, URLSessionTaskDelegate {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}
