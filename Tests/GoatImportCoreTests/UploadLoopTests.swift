import Foundation
import Testing
@testable import GoatImportCore

/// The replies the upload loop must survive, each over a real socket to the test server with
/// the real binary: a server slower than `--timeout`, a proxy's 413, a 429 on `/me`, waits
/// advertised without bound, redirects and HTML pages, a second signal, a sliding-log limiter.
@Suite(.serialized)
struct UploadLoopTests {
    let bin = TestPaths.binary
    let example = TestPaths.root.appendingPathComponent("examples/access.log").path
    func env() -> [String: String] { testEnvironment() }
    let unlimited = ["--ratelimit", "api-count:none", "--ratelimit", "api:none"]

    func expected(_ files: [String]) throws -> [String] {
        let r = try run(bin, ["--dry-run"] + files)
        return try r.stdout.split(separator: "\n").map { hitKey(try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]) }
    }

    func summary(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    @Test("a server slower than --timeout on every request: the timeout grows, the run converges, one duplicate batch per timeout")
    func slowServerConverges() throws {
        let server = try TestServer(unlimited)
        try server.faults([["kind": "slow", "seconds": 2.5, "times": 1000]])
        let r = try run(bin, ["--site", server.url, "--timeout", "1", "--retry-for", "30", "--retry-delay", "0.1",
                              "--batch-size", "50", "--no-state", example], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        let got = try server.hits().map(hitKey)
        let want = try expected([example])
        #expect(Set(got) == Set(want), "nothing lost")
        // Timeouts at 1 s and 2 s, then 4 s is enough for this batch and every later one.
        #expect(got.count <= want.count + 2 * 50, "at most one duplicate batch per timeout (\(got.count - want.count) extra)")
        #expect(try server.countRequests() <= (want.count + 49) / 50 + 2)
    }

    @Test("413 from a proxy (nginx's HTML page): the batch is halved, said once, every hit exactly once, checkpoints exact")
    func tooLargeHalves() throws {
        let server = try TestServer(unlimited)
        try server.faults([["kind": "body_limit", "bytes": 8000, "times": 1000]])
        let dir = TestPaths.tempDir()
        let state = dir.appendingPathComponent("state.json").path
        let r = try run(bin, ["--site", server.url, "--batch-size", "100", "--state", state, example], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try server.hits().map(hitKey) == (try expected([example])), "in order, each once")
        #expect(r.stderr.components(separatedBy: "(413)").count == 2, "said once: \(r.stderr)")
        #expect(!r.stderr.contains("<html"), "the page is never dumped")
        let requests = try server.countRequests()
        #expect(requests <= 10, "later batches are cut before sending, not refused again (\(requests) requests)")
        // The halves moved the checkpoint to the end: a second run sends nothing.
        let again = try run(bin, ["--site", server.url, "--batch-size", "100", "--state", state, example], environment: env())
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try server.countRequests() == requests)
    }

    @Test("split: the halves carry the hits in order; only the second carries the progress past them")
    func batchSplit() throws {
        let batch = Batch(noSessions: true)
        for line in 1...5 {
            let buffer = batch.body
            batch.willAppendHit()
            buffer.append(utf8: "{\"path\":\"/p\(line)\"}")
            batch.didAppendHit(LinePosition(input: 0, line: line, endOffset: Int64(line * 10)))
        }
        batch.cover(LinePosition(input: 0, line: 7, endOffset: 70))
        batch.cover(LinePosition(input: 1, line: 2, endOffset: 20))   // the batch ran on into the next file
        batch.close()
        let (first, second) = batch.split(after: 3)
        #expect(first.body.string == "{\"no_sessions\":true,\"hits\":[{\"path\":\"/p1\"},{\"path\":\"/p2\"},{\"path\":\"/p3\"}]}")
        #expect(second.body.string == "{\"no_sessions\":true,\"hits\":[{\"path\":\"/p4\"},{\"path\":\"/p5\"}]}")
        #expect(first.covered == [LinePosition(input: 0, line: 3, endOffset: 30)])
        #expect(second.covered == [LinePosition(input: 0, line: 7, endOffset: 70), LinePosition(input: 1, line: 2, endOffset: 20)])
        #expect(second.positions.map(\.line) == [4, 5])
        let (a, b) = second.split(after: 1)
        #expect(a.body.string == "{\"no_sessions\":true,\"hits\":[{\"path\":\"/p4\"}]}")
        #expect(b.body.string == "{\"no_sessions\":true,\"hits\":[{\"path\":\"/p5\"}]}")
    }

    @Test("429 on /api/v0/me at start (both styles): waited out as the reply says, then every hit sent")
    func meRateLimited() throws {
        for style in ["v2.4.1", "v2.7"] {
            let server = try TestServer(["--style", style, "--ratelimit", "api-count:none", "--ratelimit", "api:2/3"])
            // A run just before spent the window of this address.
            let other = GoatCounterAPI(client: GoatCounterClient(site: URL(string: server.url)!, apiKey: "test-key"))
            for _ in 0..<2 { _ = try other.me() }
            let r = try run(bin, ["--site", server.url, "--no-state", example], environment: env())
            #expect(r.status == 0, "\(style): \(r.stderr)")
            #expect(try server.hits().count == (try expected([example])).count, "\(style)")
            #expect((try server.stats()["rate_limited"] as? Int ?? 0) >= 1, "\(style): the 429 did happen")
        }
    }

    @Test("waits advertised without bound (Retry-After 3600, Reset 99999) are cut to --retry-for; the time spent is reported")
    func unboundedWaitsCapped() throws {
        let server = try TestServer(unlimited)
        try server.faults([
            ["kind": "status", "status": 429, "headers": ["Retry-After": "3600", "X-Rate-Limit-Limit": "60", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "3600"]],
            ["kind": "status", "status": 202, "after_record": true, "error": "",
             "headers": ["X-Rate-Limit-Limit": "60", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "99999"]],
        ])
        let dir = TestPaths.tempDir()
        let json = dir.appendingPathComponent("summary.json").path
        let started = Date()
        let r = try run(bin, ["--site", server.url, "--retry-for", "2", "--batch-size", "50", "--no-state",
                              "--summary-json", json, example], environment: env())
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Set(try server.hits().map(hitKey)) == Set(try expected([example])))
        #expect(elapsed < 20, "waited \(elapsed) s")
        let waited = try summary(json)["upload"].flatMap { ($0 as? [String: Any])?["rate_limit_wait_seconds"] as? Double } ?? -1
        #expect(waited >= 3 && waited <= elapsed, "the time really spent: \(waited) s")

        // A server that keeps refusing: the run gives up within --retry-for and says what it asked.
        try server.faults([["kind": "status", "status": 429, "times": 1000, "headers": ["Retry-After": "3600"]]])
        let gaveUp = try run(bin, ["--site", server.url, "--retry-for", "2", "--no-state", example], environment: env())
        #expect(gaveUp.status == 1)
        #expect(gaveUp.stderr.contains("still rate limited (the server asks for 60 min more)"), "\(gaveUp.stderr)")
    }

    @Test("a redirect names its target and says the key was not sent there; an HTML error page is told by its title")
    func redirectsAndHTMLPages() throws {
        let server = try TestServer(unlimited)
        try server.faults([["kind": "status", "status": 301, "body": "", "headers": ["Location": "https://stats.example.net/api/v0/count"]]])
        let moved = try run(bin, ["--site", server.url, "--no-state", example], environment: env())
        #expect(moved.status == 1)
        #expect(moved.stderr.contains("redirects to https://stats.example.net/api/v0/count; not followed, the API key was not sent there"), "\(moved.stderr)")
        #expect(!moved.stderr.contains("HTTP 301"))

        let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        try server.faults([["kind": "status", "status": 502, "times": 1000, "body": page, "content_type": "text/html"]])
        let bad = try run(bin, ["--site", server.url, "--retry-for", "1", "--retry-delay", "0.1", "--no-state", example], environment: env())
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("502 502 Bad Gateway (an HTML page)"), "\(bad.stderr)")
        #expect(!bad.stderr.contains("<"), "no markup on the terminal")
    }

    @Test("a second SIGINT ends a hung request at once; the checkpoint holds exactly what was acknowledged")
    func secondSignal() throws {
        let server = try TestServer(unlimited)
        // The third request hangs.
        try server.faults([["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 60]])
        let dir = TestPaths.tempDir()
        let state = dir.appendingPathComponent("state.json").path
        let arguments = ["--site", server.url, "--batch-size", "10", "--state", state, example]
        let (process, err) = try startGoatimport(arguments, environment: env())
        var deadline = Date().addingTimeInterval(20)
        while try server.countRequests() < 3 && Date() < deadline { usleep(20_000) }
        kill(process.processIdentifier, SIGINT)
        // The first signal is seen (it says so) before the second is sent.
        var seen = Data()
        deadline = Date().addingTimeInterval(10)
        while !String(decoding: seen, as: UTF8.self).contains("interrupted") && Date() < deadline {
            seen.append(err.fileHandleForReading.availableData)
        }
        kill(process.processIdentifier, SIGINT)
        deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let ended = !process.isRunning
        if !ended { process.terminate(); kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(ended, "the second SIGINT ended the run within 5 s")
        #expect(process.terminationStatus == 128 + SIGINT)
        #expect(try server.hits().count == 20, "two batches acknowledged")

        // The next run resends from the checkpoint: nothing lost, nothing twice (the hung batch
        // is still asleep in the server).
        let resumed = try run(bin, arguments, environment: env())
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try server.hits().map(hitKey) == (try expected([example])))
    }

    @Test("both limiter styles: no 429 and close to the allowance (2.4.x: from the client's own send times, /me included; 2.7: from the window's learnt boundaries)")
    func pacingBothStyles() throws {
        for style in ["v2.4.1", "v2.7"] {
            let server = try TestServer(["--style", style, "--ratelimit", "api-count:5/2", "--ratelimit", "api:4/1"])
            let started = Date()
            let r = try run(bin, ["--site", server.url, "--batch-size", "8", "--no-state", example], environment: env())
            let elapsed = Date().timeIntervalSince(started)
            #expect(r.status == 0, "\(style): \(r.stderr)")
            #expect(try server.hits().map(hitKey) == (try expected([example])), "\(style)")
            #expect((try server.stats()["rate_limited"] as? Int ?? 99) == 0, "\(style): \(r.stderr)")
            // Request k may go at floor(k/5)·2 s; on 2.4.x the /me request is in the same log.
            let counted = try server.countRequests() + (style == "v2.4.1" ? 1 : 0)
            let ideal = Double((counted - 1) / 5) * 2
            #expect(elapsed >= ideal - 0.5 && elapsed <= ideal * 1.25 + 2, "\(style): \(elapsed) s against \(ideal) s")
        }
    }
}
