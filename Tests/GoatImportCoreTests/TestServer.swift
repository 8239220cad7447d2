import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The GoatCounter test server (Tests/Support/goatcounter_test_server.py) on a loopback port,
/// one per test, stopped when the test lets go of it.
final class TestServer {
    let process = Process()
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(_ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.root.appendingPathComponent("Tests/Support/goatcounter_test_server.py").path,
                             "--port", "0"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        // The server prints one line when it listens; reading blocks until then.
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw TestServerError.didNotStart }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("LISTENING "), let port = Int(text.dropFirst(10)) else { throw TestServerError.didNotStart }
        self.port = port
    }

    deinit {
        // SIGKILL: a kept-alive client connection can hold a graceful shutdown open.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    enum TestServerError: Error { case didNotStart, badReply(String) }

    func control(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Data?
        URLSession.shared.dataTask(with: request) { data, _, _ in result = data; done.signal() }.resume()
        done.wait()
        guard let result else { throw TestServerError.badReply(path) }
        return try JSONSerialization.jsonObject(with: result)
    }

    /// Hits the server counted, in the order received.
    func hits() throws -> [[String: Any]] {
        (try control("GET", "/_test/hits") as! [String: Any])["hits"] as! [[String: Any]]
    }

    func list(_ name: String) throws -> [[String: Any]] {
        (try control("GET", "/_test/hits") as! [String: Any])[name] as! [[String: Any]]
    }

    func stats() throws -> [String: Any] { try control("GET", "/_test/stats") as! [String: Any] }

    func countRequests() throws -> Int { (try stats()["count_requests"] as? Int) ?? 0 }

    func faults(_ faults: [[String: Any]]) throws { _ = try control("POST", "/_test/faults", faults) }
}

/// The fields a hit carries as goatimport sent it, comparable as one string. Session ids are
/// left out: a dry run keys them with the fixed dry-run key, a real run with its secret (SessionTests check them).
func hitKey(_ hit: [String: Any]) -> String {
    ["path", "query", "ref", "user_agent", "ip", "created_at"].map { "\($0)=\(hit[$0] as? String ?? "")" }.joined(separator: "|")
}

/// Starts the real binary in the background (for signal tests).
func startGoatimport(_ arguments: [String], environment: [String: String]) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: TestPaths.binary)
    process.arguments = arguments
    process.environment = environment
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    return (process, err)
}
