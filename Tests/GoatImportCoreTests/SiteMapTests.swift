import Foundation
import Testing
@testable import GoatImportCore

@Suite struct SiteMapTests {
    func map(_ specs: [String]) throws -> SiteMap {
        var map = SiteMap()
        for spec in specs { try map.add(spec, origin: "test") }
        return map
    }

    @Test("exact names win over globs; globs in the order given; sites are the distinct URLs")
    func precedence() throws {
        let m = try map(["*.example.com=https://all.example", "www.example.com=https://www.example/",
                         "shop.example.com=https://all.example", "*=https://rest.example"])
        #expect(m.sites == ["https://all.example", "https://www.example", "https://rest.example"])
        #expect(m.site(forHost: "www.example.com") == 1)
        #expect(m.site(forHost: "blog.example.com") == 0)
        #expect(m.site(forHost: "a.b.example.com") == 0)
        #expect(m.site(forHost: "example.com") == 2, "*.example.com needs a label before the dot")
        #expect(m.site(forHost: "other.org") == 2)
        let noCatchAll = try map(["www.example.com=https://w.example", "blog-?.example.com=https://b.example"])
        #expect(noCatchAll.site(forHost: "blog-1.example.com") == 1)
        #expect(noCatchAll.site(forHost: "blog-12.example.com") == nil)
        #expect(noCatchAll.site(forHost: "example.com") == nil)
    }

    @Test("bad entries are clear errors naming where they came from")
    func errors() throws {
        #expect(throws: SiteMap.ParseError.self) { try map(["www.example.com"]) }
        // No scheme is https, as for --site; another scheme is an error.
        #expect(throws: SiteMap.ParseError.self) { try map(["www.example.com=ftp://stats.example.com"]) }
        #expect(throws: SiteMap.ParseError.self) { try map(["https://www.example.com=https://s.example"]) }
        #expect(throws: SiteMap.ParseError.self) { try map(["a.example=https://s.example", "A.example=https://t.example"]) }
        let dir = TestPaths.tempDir()
        let file = dir.appendingPathComponent("sites").path
        try "# comment\n\nwww.example.com  https://w.example  # trailing\nblog.example.com=https://b.example\nnonsense\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        var m = SiteMap()
        do {
            try m.addFile(file)
            Issue.record("expected an error")
        } catch let error as SiteMap.ParseError {
            #expect(error.description.hasPrefix("\(file):5: "))
        }
        #expect(m.sites == ["https://w.example", "https://b.example"], "lines before the bad one were read")
    }

    @Test("the router normalises case, port and a trailing dot, and counts unmapped hosts")
    func router() throws {
        let router = SiteRouter(map: try map(["www.example.com=https://w.example", "[2001:db8::1]=https://v6.example"]))
        func route(_ host: String) -> Int? {
            let bytes = Array(host.utf8)
            return bytes.withUnsafeBufferPointer { router.route($0.baseAddress!, host: Span(start: 0, end: bytes.count)) }
        }
        #expect(route("www.example.com") == 0)
        #expect(route("WWW.Example.COM:8080") == 0)
        #expect(route("www.example.com.") == 0)
        #expect(route("[2001:db8::1]:443") == 1)
        #expect(route("other.example") == nil)
        #expect(route("Other.example:80") == nil)
        #expect(route("third.example") == nil)
        #expect(route("www.example.com") == 0, "cached")
        let none: Int? = [UInt8]("x".utf8).withUnsafeBufferPointer { router.route($0.baseAddress!, host: .none) }
        #expect(none == nil)
        let unmapped = router.unmapped
        #expect(unmapped.map(\.host) == ["other.example", "", "third.example"])
        #expect(unmapped.map(\.lines) == [2, 1, 1])
    }

    @Test("the routing sink moves every site past the lines of the others, and a quiet flush ships nothing")
    func routingSinkProgress() throws {
        let queues = [BatchQueue(capacity: 100), BatchQueue(capacity: 100)]
        let sink = SiteRoutingSink(sinks: queues.map { BatchingSink(queue: $0, batchSize: 2) })
        func hit(_ line: Int, site: Int) throws {
            let p = LinePosition(input: 0, line: line, endOffset: Int64(line * 10), site: site)
            try sink.bufferForNextHit(at: p).append("{}")
            try sink.didEncodeHit(at: p)
        }
        try hit(1, site: 0)
        try sink.didSkipLine(at: LinePosition(input: 0, line: 2, endOffset: 20), reason: .bot)
        try hit(3, site: 1)
        try hit(4, site: 0)          // site 0's batch is full: shipped, its progress at line 4
        try hit(5, site: 1)          // site 1's too, at line 5
        try hit(6, site: 0)
        try sink.flush()             // site 0: its hit of line 6; site 1: only that line 6 went by
        try sink.flush()             // quiet: nothing more
        try sink.finish()
        func batches(_ q: BatchQueue) -> [(hits: Int, last: Int)] {
            var out: [(Int, Int)] = []
            while let b = q.take() { out.append((b.hitCount, b.lastPosition?.line ?? 0)) }
            return out
        }
        let zero = batches(queues[0]), one = batches(queues[1])
        #expect(zero.map(\.hits) == [2, 1] && zero.map(\.last) == [4, 6])
        #expect(one.map(\.hits) == [2, 0] && one.map(\.last) == [5, 6], "site 1 learns that line 6 was not its")
    }

    static let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

    /// combined-vhost lines: host i % hosts.count, path /p{i}.
    static func vhostLines(_ range: Range<Int>, hosts: [String]) -> String {
        range.map { i in
            "\(hosts[i % hosts.count]):443 203.0.113.\(i % 200 + 1) - - [02/Nov/2026:09:\(String(format: "%02d", i / 60 % 60)):\(String(format: "%02d", i % 60)) +0000] \"GET /p\(i) HTTP/1.1\" 200 10 \"-\" \"\(ua)\"\n"
        }.joined()
    }

    @Test("the importer routes each hit to its site and skips, counted by host, the lines of the others")
    func importerRoutes() throws {
        let dir = TestPaths.tempDir()
        let log = dir.appendingPathComponent("access.log").path
        try Self.vhostLines(0..<30, hosts: ["a.example", "b.example", "c.example"]).write(toFile: log, atomically: true, encoding: .utf8)
        let (sink, summary) = try importFiles([log], format: "combined-vhost") {
            $0.siteMap = try map(["a.example=https://sa.example", "b.example=https://sb.example"])
        }
        #expect(sink.hits.count == 20)
        for (hit, position) in zip(sink.hits, sink.positions) {
            let n = Int((hit["path"] as! String).dropFirst(2))!
            #expect(position.site == n % 3)
        }
        #expect(summary[.noSite] == 10)
        #expect(summary.siteHits == ["https://sa.example": 10, "https://sb.example": 10])
        #expect(summary.unmappedHosts == ["c.example": 10])
        #expect(throws: FormatError.self) {
            try importFiles([log], format: "combined") { $0.siteMap = try map(["a.example=https://sa.example"]) }
        }
    }
}

/// Many sites from one log, end to end: the real binary, two sites on the test server.
@Suite(.serialized)
struct SiteMapRunTests {
    let bin = TestPaths.binary
    let dir = TestPaths.tempDir()
    var state: String { dir.appendingPathComponent("state/state.json").path }
    var log: String { dir.appendingPathComponent("access.log").path }
    static let hosts = ["a.example", "b.example", "c.example"]

    /// Two sites on one server: chosen by the Host header of the URL used for each.
    static func server() throws -> TestServer {
        try TestServer(["--site", "127.0.0.1:1", "--site", "localhost:2",
                        "--ratelimit", "api-count:none", "--ratelimit", "api:none"])
    }

    func siteMap(_ server: TestServer) -> [String] {
        ["--site-map", "a.example=http://127.0.0.1:\(server.port)", "--site-map", "b.example=http://localhost:\(server.port)"]
    }

    /// Paths each site recorded, by site id.
    func paths(_ server: TestServer) throws -> [Int: [String]] {
        var result: [Int: [String]] = [1: [], 2: []]
        for hit in try server.hits() { result[hit["site_id"] as! Int, default: []].append(hit["path"] as! String) }
        return result
    }

    func expected(_ range: Range<Int>, host: Int) -> [String] { range.filter { $0 % 3 == host }.map { "/p\($0)" } }

    func append(_ text: String) throws { try CheckpointRunTests().append(text, to: log) }

    @Test("one pass sends each host's pageviews to its own site; unmapped hosts are counted; a rerun sends nothing")
    func routes() throws {
        let server = try Self.server()
        try append(SiteMapTests.vhostLines(0..<90, hosts: Self.hosts))
        let summaryPath = dir.appendingPathComponent("summary.json").path
        let result = try run(bin, siteMap(server) + ["--format", "combined-vhost", "--state", state, "--batch-size", "7",
                                                     "--summary-json", summaryPath, log], environment: testEnvironment())
        #expect(result.status == 0, "\(result.stderr)")
        var got = try paths(server)
        #expect(got[1] == expected(0..<90, host: 0))
        #expect(got[2] == expected(0..<90, host: 1))
        #expect(result.stderr.contains("lines of hosts with no site: c.example 30"), "\(result.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
        #expect((summary["unmapped_hosts"] as? [String: Int]) == ["c.example": 30])
        #expect(((summary["upload"] as? [String: Any])?["sent"] as? Int) == 60)

        // The state has each site's own progress.
        let stateJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as! [String: Any]
        let entry = (stateJSON["files"] as! [[String: Any]])[0]
        let sites = entry["sites"] as! [String: [String: Any]]
        #expect(Set(sites.keys) == ["http://127.0.0.1:\(server.port)", "http://localhost:\(server.port)"])

        #expect(try run(bin, siteMap(server) + ["--format", "combined-vhost", "--state", state, log], environment: testEnvironment()).status == 0)
        #expect(try paths(server) == got, "a rerun sends nothing")
        try append(SiteMapTests.vhostLines(90..<120, hosts: Self.hosts))
        #expect(try run(bin, siteMap(server) + ["--format", "combined-vhost", "--state", state, log], environment: testEnvironment()).status == 0)
        got = try paths(server)
        #expect(got[1] == expected(0..<120, host: 0))
        #expect(got[2] == expected(0..<120, host: 1))
    }

    @Test("a site that fails stops alone; the rerun sends it what it missed and the other site nothing twice")
    func independentProgress() throws {
        let server = try Self.server()
        try append(SiteMapTests.vhostLines(0..<300, hosts: Self.hosts))
        // Site 2 fails every request for longer than --retry-for allows.
        try server.faults([["kind": "status", "status": 503, "times": 1000, "site": "localhost"]])
        let first = try run(bin, siteMap(server) + ["--format", "combined-vhost", "--state", state, "--batch-size", "10",
                                                    "--retry-for", "0.3", "--retry-delay", "0.05", log], environment: testEnvironment())
        #expect(first.status == 1)
        #expect(first.stderr.contains("error: http://localhost:\(server.port): gave up"), "\(first.stderr)")
        var got = try paths(server)
        #expect(got[1] == expected(0..<300, host: 0), "the other site got everything")
        #expect(got[2] == [])
        _ = try server.control("DELETE", "/_test/faults")

        let second = try run(bin, siteMap(server) + ["--format", "combined-vhost", "--state", state, "--batch-size", "10", log],
                             environment: testEnvironment())
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("already-sent"), "\(second.stderr)")
        got = try paths(server)
        #expect(got[1] == expected(0..<300, host: 0), "nothing twice for the site that had finished")
        #expect(got[2] == expected(0..<300, host: 1), "everything once for the site that had failed")
    }

    @Test("kill -9 at several points with two sites, rerun until done: nothing lost, at most one batch per site twice per kill")
    func killNine() throws {
        let server = try Self.server()
        try append(SiteMapTests.vhostLines(0..<600, hosts: Self.hosts))
        var kills = 0
        let args = siteMap(server) + ["--format", "combined-vhost", "--state", state, "--batch-size", "20", log]
        for killAfter in [3, 7, 12] {
            try server.faults([["kind": "slow", "seconds": 0.05, "times": 1000]])
            let before = try server.countRequests()
            let (process, _) = try startGoatimport(args, environment: testEnvironment())
            let deadline = Date().addingTimeInterval(20)
            while try server.countRequests() < before + killAfter && Date() < deadline && process.isRunning { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); kills += 1 }
            process.waitUntilExit()
        }
        _ = try server.control("DELETE", "/_test/faults")
        let last = try run(bin, args, environment: testEnvironment())
        #expect(last.status == 0, "\(last.stderr)")
        let got = try paths(server)
        var duplicates = 0
        for site in [1, 2] {
            let paths = got[site] ?? []
            #expect(Set(paths) == Set(expected(0..<600, host: site - 1)), "nothing lost for site \(site)")
            #expect(paths.count - Set(paths).count <= kills * 20, "at most one batch of 20 per kill for site \(site)")
            duplicates += paths.count - Set(paths).count
        }
        print("kill -9 with two sites: \(kills) kills, \(duplicates) duplicated hits, 0 lost")
    }

    @Test("a dry run with a site map shows the hits per site")
    func dryRun() throws {
        try append(SiteMapTests.vhostLines(0..<9, hosts: Self.hosts))
        let result = try run(bin, ["--dry-run", "--format", "combined-vhost", "--site-map", "*.example=https://all.example",
                                   "--site-map", "c.example=https://c.example", log], environment: testEnvironment())
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 9)
        #expect(result.stderr.contains("6 hits for https://all.example"), "\(result.stderr)")
        #expect(result.stderr.contains("3 hits for https://c.example"), "\(result.stderr)")
        let clash = try run(bin, ["--dry-run", "--site", "https://x.example", "--site-map", "a=https://y.example", log],
                            environment: testEnvironment())
        #expect(clash.status != 0)
        #expect(clash.stderr.contains("--site and --site-map"))
    }

    @Test("--follow with a site map: each site gets its hosts' lines once across a rotation and a restart")
    func follow() throws {
        let server = try Self.server()
        let follow = FollowRunTests()
        let log = follow.log, state = follow.state
        func start() throws -> Process {
            try startGoatimport(siteMap(server) + ["--format", "combined-vhost", "--state", state, "--follow", log],
                                environment: testEnvironment()).0
        }
        func appendTo(_ path: String, _ range: Range<Int>) throws {
            try CheckpointRunTests().append(SiteMapTests.vhostLines(range, hosts: Self.hosts), to: path)
        }
        func wait(_ n: Int) throws -> [Int: [String]] {
            _ = try follow.waitForHits(server, n)
            return try paths(server)
        }
        try appendTo(log, 0..<30)
        var process = try start()
        var got = try wait(20)
        #expect(got[1] == expected(0..<30, host: 0))
        #expect(got[2] == expected(0..<30, host: 1))
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try appendTo(log + ".1", 30..<36)
        try appendTo(log, 36..<60)
        got = try wait(40)
        #expect(got[1]!.sorted() == expected(0..<60, host: 0).sorted())
        #expect(got[2]!.sorted() == expected(0..<60, host: 1).sorted())
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        try appendTo(log, 60..<90)
        process = try start()
        got = try wait(60)
        process.terminate()
        process.waitUntilExit()
        for site in [1, 2] {
            #expect(got[site]!.sorted() == expected(0..<90, host: site - 1).sorted(), "nothing lost for site \(site)")
            #expect(got[site]!.count == Set(got[site]!).count, "nothing twice for site \(site)")
        }
    }
}
