import Foundation
import Testing
@testable import GoatImportCore

/// The journal through libsystemd, on real journal files written by systemd-journal-remote
/// from journalctl's export format: several units, several files, later entries in a second file.
@Suite(.serialized)
struct JournalTests {
    static let journalRemote = "/lib/systemd/systemd-journal-remote"
    let dir = TestPaths.tempDir()

    struct Entry {
        var unit: String
        var identifier: String
        var priority = 6
        var message: String
    }

    /// nginx access lines with unique paths /n{i}, logged by nginx.service under identifier nginx.
    static func access(_ range: Range<Int>) -> [Entry] {
        CheckpointRunTests.lines(range).split(separator: "\n").map { Entry(unit: "nginx.service", identifier: "nginx", message: String($0)) }
    }

    static let nginxError = Entry(unit: "nginx.service", identifier: "nginx", priority: 3,
                                  message: "2026/11/01 10:00:05 [error] 812#812: *9 open() \"/srv/www/missing\" failed (2: No such file or directory), client: 198.51.100.7, server: example.com, request: \"GET /missing HTTP/1.1\", host: \"example.com\"")
    static let caddyLine = Entry(unit: "caddy.service", identifier: "caddy",
                                 message: "{\"level\":\"info\",\"ts\":1795000000.5,\"logger\":\"http.log.access\",\"msg\":\"handled request\",\"request\":{\"remote_ip\":\"198.51.100.9\",\"method\":\"GET\",\"host\":\"example.com\",\"uri\":\"/caddy\",\"headers\":{\"User-Agent\":[\"Mozilla/5.0\"]}},\"status\":200}")

    /// Writes `entries` as one journal file, their times `first`, `first`+1 ms, …
    @discardableResult
    func writeJournal(_ name: String, _ entries: [Entry], first: Int) throws -> String {
        let path = dir.appendingPathComponent(name).path
        var export = ""
        for (i, e) in entries.enumerated() {
            export += "__REALTIME_TIMESTAMP=\(1_795_000_000_000_000 + (first + i) * 1000)\n__MONOTONIC_TIMESTAMP=\(1000 + first + i)\n"
            export += "_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT=\(e.unit)\nSYSLOG_IDENTIFIER=\(e.identifier)\n"
            export += "PRIORITY=\(e.priority)\nMESSAGE=\(e.message)\n\n"
        }
        // Written beside and moved in: a watcher never sees half a file.
        let tmp = dir.appendingPathComponent(".tmp-" + (name as NSString).lastPathComponent).path
        let r = try run(Self.journalRemote, ["--output=" + tmp, "-"], stdin: Data(export.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
        return path
    }

    func importJournal(_ selection: JournalSelection, after cursor: String? = nil) throws -> (sink: CollectingSink, summary: ImportSummary, cursors: CursorTable) {
        let reader = try JournalReader(selection)
        try reader.seek(after: cursor)
        let sink = CollectingSink()
        let cursors = CursorTable()
        let summary = try Importer(options: Importer.Options(format: try LogFormat.resolve("combined"))).run(journal: reader, cursors: [cursors], into: sink)
        return (sink, summary, cursors)
    }

    func paths(_ sink: CollectingSink) -> [String] { sink.hits.map { $0["path"] as! String } }

    @Test("each entry's MESSAGE is a line; other units are not read, the unit's error-log entries are counted apart; files read in time order")
    func unitsAndFiles() throws {
        var first = Self.access(0..<10)
        first.insert(Self.caddyLine, at: 3)
        first.insert(Self.nginxError, at: 6)
        // Given newest first: the journal interleaves by time whatever the order.
        let b = try writeJournal("b.journal", Self.access(10..<15), first: 100)
        let a = try writeJournal("a.journal", first, first: 0)
        let (sink, summary, _) = try importJournal(JournalSelection(files: [b, a], identifiers: ["nginx"]))
        #expect(paths(sink) == (0..<15).map { "/n\($0)" })
        #expect(summary[.errorLog] == 1)
        #expect(summary[.malformed] == 0)
        #expect(summary.lines == 16)
        let unit = try importJournal(JournalSelection(files: [a, b], units: ["nginx"]))
        #expect(paths(unit.sink) == (0..<15).map { "/n\($0)" }, "--unit nginx is nginx.service")
        // Without a selection every program's entries come; the ones that are not access lines are not malformed.
        let all = try importJournal(JournalSelection(files: [a, b]))
        #expect(paths(all.sink) == (0..<15).map { "/n\($0)" })
        #expect(all.summary[.otherEntry] == 1 && all.summary[.errorLog] == 1 && all.summary[.malformed] == 0)
    }

    @Test("resuming after an entry's cursor reads exactly the entries after it, also when its file was vacuumed")
    func resumeAfterCursor() throws {
        let a = try writeJournal("a.journal", Self.access(0..<10), first: 0)
        let b = try writeJournal("b.journal", Self.access(10..<20), first: 100)
        let selection = JournalSelection(directory: dir.path, identifiers: ["nginx"])
        let whole = try importJournal(selection)
        for n in [1, 5, 10, 11, 20] {
            let cursor = try #require(whole.cursors.take(n))
            let rest = try importJournal(selection, after: cursor)
            #expect(paths(rest.sink) == (n..<20).map { "/n\($0)" }, "after entry \(n)")
        }
        let tenth = try #require(try importJournal(selection).cursors.take(10))
        try FileManager.default.removeItem(atPath: a)   // journald's vacuuming removes whole archived files
        let p = paths(try importJournal(selection, after: tenth).sink)
        #expect(p == (10..<20).map { "/n\($0)" }, "\(tenth)")
        _ = b
    }

    // MARK: - The binary, with the test server and a real state file

    var state: String { dir.appendingPathComponent("state/state.json").path }

    @Test("exactly once across reruns: a new journal file's entries are sent once, nothing twice, after vacuuming too")
    func reruns() throws {
        let journals = dir.appendingPathComponent("journal")
        try FileManager.default.createDirectory(at: journals, withIntermediateDirectories: true)
        let server = try CheckpointRunTests.noLimits()
        func importRun() throws -> (status: Int32, stdout: String, stderr: String) {
            try run(TestPaths.binary, ["--site", server.url, "--state", state, "--batch-size", "7", "--journal-directory", journals.path,
                                       "--identifier", "nginx"], environment: testEnvironment())
        }
        func sent() throws -> [String] { try server.hits().map { $0["path"] as! String } }
        var first = Self.access(0..<20)
        first.append(Self.nginxError)
        try writeJournal("journal/system@1.journal", first, first: 0)
        var r = try importRun()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try sent() == (0..<20).map { "/n\($0)" })
        r = try importRun()
        #expect(try sent().count == 20, "nothing sent twice: \(r.stderr)")
        try writeJournal("journal/system@2.journal", Self.access(20..<35), first: 100)
        r = try importRun()
        #expect(try sent() == (0..<35).map { "/n\($0)" }, "\(r.stderr)")
        try FileManager.default.removeItem(atPath: journals.appendingPathComponent("system@1.journal").path)
        try writeJournal("journal/system@3.journal", Self.access(35..<40), first: 200)
        r = try importRun()
        #expect(try sent() == (0..<40).map { "/n\($0)" }, "\(r.stderr)")
        let text = try String(contentsOfFile: state, encoding: .utf8)
        #expect(text.contains("journal:directory=") && text.contains("identifier=nginx"))
        #expect((try FileManager.default.attributesOfItem(atPath: state)[.posixPermissions] as? Int) == 0o600)
    }

    @Test("--follow waits on the journal: a file written into the watched directory is sent, once")
    func follow() throws {
        let journals = dir.appendingPathComponent("journal")
        try FileManager.default.createDirectory(at: journals, withIntermediateDirectories: true)
        try writeJournal("journal/system@1.journal", Self.access(0..<10), first: 0)
        let server = try CheckpointRunTests.noLimits()
        let (process, _) = try startGoatimport(["--site", server.url, "--state", state, "--follow", "--journal-directory", journals.path,
                                                "--unit", "nginx"], environment: testEnvironment())
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        func waitFor(_ count: Int) throws -> Bool {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if try server.hits().count >= count { return true }
                usleep(50_000)
            }
            return false
        }
        #expect(try waitFor(10))
        try writeJournal("journal/system@2.journal", Self.access(10..<25), first: 100)
        #expect(try waitFor(25))
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try server.hits().map { $0["path"] as! String } == (0..<25).map { "/n\($0)" })
        let rerun = try run(TestPaths.binary, ["--site", server.url, "--state", state, "--journal-directory", journals.path, "--unit", "nginx"],
                            environment: testEnvironment())
        #expect(rerun.status == 0)
        #expect(try server.hits().count == 25, "the follower's cursor was saved: a rerun sends nothing")
    }

    @Test("--site-map with the journal: each host to its site, each site its own cursor; a site that failed gets the rest alone")
    func siteMap() throws {
        let journals = dir.appendingPathComponent("journal")
        try FileManager.default.createDirectory(at: journals, withIntermediateDirectories: true)
        let server = try SiteMapRunTests.server()
        func entries(_ range: Range<Int>) -> [Entry] {
            SiteMapTests.vhostLines(range, hosts: SiteMapRunTests.hosts).split(separator: "\n").map {
                Entry(unit: "nginx.service", identifier: "nginx", message: String($0))
            }
        }
        func importRun(_ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
            try run(TestPaths.binary, ["--site-map", "a.example=http://127.0.0.1:\(server.port)", "--site-map", "b.example=http://localhost:\(server.port)",
                                       "--format", "combined-vhost", "--state", state, "--batch-size", "10",
                                       "--journal-directory", journals.path, "--identifier", "nginx"] + extra, environment: testEnvironment())
        }
        func sent() throws -> [Int: [String]] {
            var result: [Int: [String]] = [1: [], 2: []]
            for hit in try server.hits() { result[hit["site_id"] as! Int, default: []].append(hit["path"] as! String) }
            return result
        }
        func expected(_ range: Range<Int>, host: Int) -> [String] { range.filter { $0 % 3 == host }.map { "/p\($0)" } }

        try writeJournal("journal/system@1.journal", entries(0..<90), first: 0)
        // The second site fails for longer than --retry-for allows: the first goes on alone.
        try server.faults([["kind": "status", "status": 503, "times": 1000, "site": "localhost"]])
        var r = try importRun(["--retry-for", "0.3", "--retry-delay", "0.05"])
        #expect(r.status == 1)
        #expect(try sent() == [1: expected(0..<90, host: 0), 2: []], "\(r.stderr)")
        #expect(r.stderr.contains("lines of hosts with no site: c.example 30"), "\(r.stderr)")
        _ = try server.control("DELETE", "/_test/faults")

        try writeJournal("journal/system@2.journal", entries(90..<120), first: 1000)
        r = try importRun()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("already-sent"), "the first site's entries before its cursor: \(r.stderr)")
        #expect(try sent() == [1: expected(0..<120, host: 0), 2: expected(0..<120, host: 1)], "every hit once on each site")
        r = try importRun()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try server.hits().count == 80, "a rerun sends nothing")
        let text = try String(contentsOfFile: state, encoding: .utf8).replacingOccurrences(of: "\\/", with: "/")
        #expect(text.contains("site=http://127.0.0.1:\(server.port)") && text.contains("site=http://localhost:\(server.port)"))
    }
}
