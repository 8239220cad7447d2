import Foundation
import Testing
@testable import GoatImportCore

/// The real `goatimport` against the GoatCounter test server over a loopback socket.
@Suite(.serialized)
struct UploadTests {
    let bin = TestPaths.binary
    let example = TestPaths.root.appendingPathComponent("examples/access.log").path
    let nginx = TestPaths.fixture("nginx/combined.log")

    func env(_ key: String = "test-key") -> [String: String] { testEnvironment(key: key) }

    /// What a dry run says should arrive, as comparable keys.
    func expected(_ files: [String], _ extra: [String] = []) throws -> [String] {
        let r = try run(bin, ["--dry-run"] + extra + files)
        return try r.stdout.split(separator: "\n").map { hitKey(try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]) }
    }

    @Test("every pageview arrives exactly once, in order, keep-alive used")
    func exactlyOnce() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        let r = try run(bin, ["--site", server.url, "--batch-size", "25", example, nginx], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        let got = try server.hits().map(hitKey)
        let want = try expected([example, nginx])
        #expect(got == want)
        #expect(r.stderr.contains("\(want.count) hits sent"))
        let stats = try server.stats()
        #expect((stats["connections"] as? Int ?? 99) <= 3, "requests share a kept-alive connection")
    }

    @Test("paces to the rate limit: 5 requests / 2 s, no 429 storm, nothing lost (v2.7 headers)")
    func pacing() throws {
        let server = try TestServer(["--ratelimit", "api-count:5/2", "--ratelimit", "api:none"])
        let started = Date()
        let r = try run(bin, ["--site", server.url, "--batch-size", "10", example], environment: env())
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.status == 0, "\(r.stderr)")
        let want = try expected([example])
        #expect(try server.hits().map(hitKey) == want)
        let requests = (want.count + 9) / 10
        let windows = (requests + 4) / 5
        let stats = try server.stats()
        #expect((stats["rate_limited"] as? Int ?? 99) <= windows, "at most one 429 per window")
        #expect(elapsed >= Double(windows - 1) * 2 - 0.5, "it did wait for the windows")
        // The span of the uploads as the server saw them: the binary's start and exit are slow
        // under ThreadSanitizer on a loaded machine and say nothing about pacing.
        let first = stats["first_count_at"] as? Double ?? 0, last = stats["last_count_at"] as? Double ?? .infinity
        #expect(last - first <= Double(windows - 1) * 2 * 1.25 + 1, "and not much longer")
    }

    @Test("v2.4.1 style: no Retry-After, Reset is the window length, Remaining counts the request")
    func oldServer() throws {
        let server = try TestServer(["--style", "v2.4.1", "--ratelimit", "api-count:6/2", "--ratelimit", "api:none"])
        let r = try run(bin, ["--site", server.url, "--batch-size", "20", example], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try server.hits().map(hitKey) == (try expected([example])))
    }

    @Test("a storm of 429s and injected 5xx, 502 pages and dropped connections: every hit exactly once")
    func faultsRetried() throws {
        let server = try TestServer(["--ratelimit", "api-count:3/1", "--ratelimit", "api:none"])
        try server.faults([
            ["kind": "status", "status": 500], ["kind": "status", "status": 503, "times": 2],
            ["kind": "status", "status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html"],
            ["kind": "drop"], ["kind": "drop", "reset": true],
        ])
        let r = try run(bin, ["--site", server.url, "--batch-size", "15", "--retry-delay", "0.05", example], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try server.hits().map(hitKey) == (try expected([example])))
        #expect(r.stderr.contains("6 retried"), "\(r.stderr)")
    }

    @Test("a 504 after the server recorded the batch: that one batch arrives twice (documented), nothing else does")
    func gatewayTimeoutAfterRecord() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        try server.faults([["kind": "status", "status": 504, "after_record": true]])
        let r = try run(bin, ["--site", server.url, "--batch-size", "30", example], environment: env())
        #expect(r.status == 0)
        let got = try server.hits().map(hitKey)
        let want = try expected([example])
        #expect(got.count == want.count + 30, "exactly the one batch in flight is duplicated")
        #expect(Array(got.prefix(30)) == Array(want.prefix(30)))
        #expect(Array(got.dropFirst(30)) == want)
    }

    @Test("per-hit errors: reported with file:line, the other hits recorded, the refused ones not resent")
    func perHitErrors() throws {
        let dir = TestPaths.tempDir()
        let log = dir.appendingPathComponent("future.log").path
        let now = Date()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
        let lines = (0..<7).map { i in
            let t = formatter.string(from: i == 3 ? now.addingTimeInterval(3600) : now.addingTimeInterval(-600))
            return "203.0.113.\(i + 1) - - [\(t)] \"GET /p\(i) HTTP/1.1\" 200 5 \"-\" \"\(ua)\""
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: log, atomically: true, encoding: .utf8)
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        let r = try run(bin, ["--site", server.url, log], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("future.log:4: the server rejected the hit: created_at: in the future."), "\(r.stderr)")
        #expect(try server.hits().map { $0["path"] as! String } == ["/p0", "/p1", "/p2", "/p4", "/p5", "/p6"])
        #expect(try server.countRequests() == 1, "nothing resent")
        #expect(r.stderr.contains("1 hit rejected by the server"), "\(r.stderr)")
        #expect(r.stderr.contains("6 hits sent in 1 request ("), "\(r.stderr)")
    }

    @Test("a bad key, a key without count permission, a wrong URL: one clear line, nothing sent")
    func preflight() throws {
        let server = try TestServer(["--ratelimit", "api:none"])
        let unknown = try run(bin, ["--site", server.url, example], environment: env("wrong-key"))
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("the API key was refused (unknown token)"))
        #expect(!unknown.stderr.contains("wrong-key"), "the key is never printed")
        let nocount = try run(bin, ["--site", server.url, example], environment: env("nocount-key"))
        #expect(nocount.status == 1)
        #expect(nocount.stderr.contains("cannot record pageviews"))
        #expect(try server.countRequests() == 0)
        let closed = try run(bin, ["--site", "http://127.0.0.1:9", example], environment: env())
        #expect(closed.status == 1)
        #expect(closed.stderr.contains("cannot reach http://127.0.0.1:9"))
        var noKey = env()
        noKey["GOATCOUNTER_API_KEY"] = nil
        let missing = try run(bin, ["--site", server.url, example], environment: noKey)
        #expect(missing.status != 0 && missing.stderr.contains("GOATCOUNTER_API_KEY"))
    }

    @Test("the key from a file; the summary as JSON")
    func keyFileAndSummary() throws {
        let dir = TestPaths.tempDir()
        let keyFile = dir.appendingPathComponent("key").path
        FileManager.default.createFile(atPath: keyFile, contents: Data("test-key\n".utf8), attributes: [.posixPermissions: 0o600])
        let summaryFile = dir.appendingPathComponent("summary.json").path
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        var e = env()
        e["GOATCOUNTER_API_KEY"] = nil
        let r = try run(bin, ["--site", server.url, "--api-key-file", keyFile, "--summary-json", summaryFile, nginx], environment: e)
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryFile))) as! [String: Any]
        #expect(summary["ok"] as? Bool == true)
        #expect((summary["upload"] as? [String: Any])?["sent"] as? Int == (try server.hits().count))
        #expect((summary["skipped"] as? [String: Int])?["static"] == 10)
    }

    @Test("a whole batch refused (400 without per-hit errors) stops the import with a clear message")
    func wholeBatchRefused() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        try server.faults([["kind": "status", "status": 400, "error": "unknown parameter: \"wat\""]])
        let r = try run(bin, ["--site", server.url, example], environment: env())
        #expect(r.status == 1)
        #expect(r.stderr.contains("refused a whole batch (400 unknown parameter: \"wat\")"), "\(r.stderr)")
    }

    @Test("failures that last longer than --retry-for end the run with how far it got")
    func givesUp() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        try server.faults([["kind": "status", "status": 500, "times": 1000]])
        let r = try run(bin, ["--site", server.url, "--retry-for", "2", "--retry-delay", "0.1", example], environment: env())
        #expect(r.status == 1)
        #expect(r.stderr.contains("gave up after"), "\(r.stderr)")
        #expect(try server.hits().isEmpty)
    }

    @Test("a reply slower than --timeout is retried; at most that batch arrives twice")
    func slowReply() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        try server.faults([["kind": "slow", "seconds": 2.5]])
        let r = try run(bin, ["--site", server.url, "--timeout", "1", "--batch-size", "40", example], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        let got = try server.hits().map(hitKey)
        let want = try expected([example])
        #expect(Set(got) == Set(want))
        #expect(got.count <= want.count + 40)
    }

    @Test("SIGTERM mid-import: the request in flight finishes, exit 0, what arrived is an exact prefix")
    func sigterm() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        // The third request is slow, so the signal lands while it is in flight.
        try server.faults([["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 3]])
        let (process, err) = try startGoatimport(["--site", server.url, "--batch-size", "10", example], environment: env())
        // Wait until the slow request has arrived (polling the server's own counter).
        let deadline = Date().addingTimeInterval(20)
        while try server.countRequests() < 3 && Date() < deadline { usleep(20_000) }
        process.terminate()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)")
        let got = try server.hits().map(hitKey)
        let want = try expected([example])
        #expect(got.count == 30, "the in-flight batch was finished, no new one started")
        #expect(got == Array(want.prefix(got.count)))
        #expect(stderr.contains("acknowledged by the server up to"), "\(stderr)")
    }
}
