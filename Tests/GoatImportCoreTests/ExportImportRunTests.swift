import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import GoatImportCore

/// `goatcounter-csv` and `migrate` end to end: the real binary, the test server, a real state file.
@Suite(.serialized)
struct ExportImportRunTests {
    let bin = TestPaths.binary
    let dir = TestPaths.tempDir()
    var state: String { dir.appendingPathComponent("state/state.json").path }

    func env(source: String = "test-key") -> [String: String] {
        var e = testEnvironment()
        e["GOATCOUNTER_SOURCE_API_KEY"] = source
        return e
    }

    static func server(_ extra: [String] = []) throws -> TestServer {
        try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none", "--ratelimit", "export:none",
                        "--export-delay", "0.1"] + extra)
    }

    /// The server's export of everything it recorded, as rows of strings (header first).
    static func export(_ server: TestServer) throws -> [[String]] {
        func request(_ method: String, _ path: String) throws -> (Int, Data) {
            var r = URLRequest(url: URL(string: server.url + path)!)
            r.httpMethod = method
            r.setValue("Bearer test-key", forHTTPHeaderField: "Authorization")
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if method == "POST" { r.httpBody = Data("{}".utf8) }
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var result: (Int, Data) = (0, Data())
            URLSession.shared.dataTask(with: r) { data, response, _ in
                result = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()); done.signal()
            }.resume()
            done.wait()
            return result
        }
        let (_, created) = try request("POST", "/api/v0/export")
        let id = (try JSONSerialization.jsonObject(with: created) as! [String: Any])["id"] as! Int
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let (status, body) = try request("GET", "/api/v0/export/\(id)/download")
            if status == 200 {
                let file = TestPaths.tempDir().appendingPathComponent("export.csv.gz")
                try ExportCSV.gunzip(body).write(to: file)
                let script = "import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='')))))"
                let csv = TestPaths.tempDir().appendingPathComponent("export.csv")
                try ExportCSV.gunzip(body).write(to: csv)
                let r = try run("/usr/bin/env", ["python3", "-c", script, csv.path])
                return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String]]
            }
            usleep(20_000)
        }
        throw TestServer.TestServerError.badReply("export \(id) not ready")
    }

    @Test("the real export into the test server (2.4.1 style), row for row: its own export gives the fixture back; a rerun sends nothing")
    func rowForRow() throws {
        let server = try Self.server(["--style", "v2.4.1"])
        let r = try run(bin, ["--site", server.url, "--state", state, ExportCSVTests.gzPath], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("of the filters only --since/--until apply"))
        let fixture = try ExportCSVTests.fixtureRows()
        let exported = try Self.export(server)
        #expect(exported.first == fixture.first, "the same header, version 2")
        #expect(exported.count == fixture.count)
        // Every column the API can carry comes back as the real server wrote it; Browser and
        // System are each server's own reading of the user agent, Session its own ids.
        let kept = [0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13]
        var sessions: [String: String] = [:]
        for (i, (got, want)) in zip(exported, fixture).enumerated().dropFirst() {
            #expect(kept.map { got[$0] } == kept.map { want[$0] }, "row \(i)")
            if let seen = sessions[want[6]] { #expect(seen == got[6], "row \(i): a shared session stays shared") }
            sessions[want[6]] = got[6]
        }
        #expect(Set(sessions.values).count == sessions.count, "no two visits merge")

        let again = try run(bin, ["--site", server.url, "--state", state, ExportCSVTests.gzPath], environment: env())
        #expect(again.status == 0)
        #expect(try server.hits().count == 120, "a rerun sends nothing")
    }

    /// An export of `n` rows, each with a title holding a line break, so records span lines.
    static func bigExport(_ n: Int) -> String {
        "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date\n"
            + (0..<n).map { "/n\($0),\"Title \($0),\nsecond line\",0,,,,s\($0 % 7),0,,,,,0,2026-11-2\($0 % 9)T10:00:\(String(format: "%02d", $0 % 60))Z\n" }.joined()
    }

    @Test("kill -9 in the middle and a rerun: nothing lost, no row split by a checkpoint")
    func killNine() throws {
        let server = try Self.server()
        let file = dir.appendingPathComponent("export.csv").path
        try Self.bigExport(400).write(toFile: file, atomically: true, encoding: .utf8)
        var kills = 0
        for killAfter in [3, 8, 13] {
            try server.faults([["kind": "slow", "seconds": 0.05, "times": 1000]])
            let before = try server.countRequests()
            let (process, _) = try startGoatimport(["--site", server.url, "--state", state, "--batch-size", "20", file], environment: env())
            let deadline = Date().addingTimeInterval(20)
            while try server.countRequests() < before + killAfter && Date() < deadline && process.isRunning { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); kills += 1 }
            process.waitUntilExit()
        }
        _ = try server.control("DELETE", "/_test/faults")
        let last = try run(bin, ["--site", server.url, "--state", state, "--batch-size", "20", file], environment: env())
        #expect(last.status == 0, "\(last.stderr)")
        #expect(!last.stderr.contains("malformed"), "a resumed run starts on a record boundary: \(last.stderr)")
        let paths = try server.hits().map { $0["path"] as! String }
        #expect(Set(paths) == Set((0..<400).map { "/n\($0)" }), "nothing lost")
        #expect(paths.count - Set(paths).count <= kills * 20, "at most one batch twice per kill")
        #expect(try server.hits().allSatisfy { ($0["title"] as? String)?.hasSuffix(",\nsecond line") == true })
    }

    @Test("a row the target refuses is reported with file and line; the others are recorded")
    func refusedRow() throws {
        let server = try Self.server()
        let file = dir.appendingPathComponent("export.csv").path
        let rows = Self.bigExport(3).split(separator: "\n", omittingEmptySubsequences: false)
        // Line 4-5 is the second row; make it a time far in the future.
        var text = rows.map(String.init).joined(separator: "\n")
        text = text.replacingOccurrences(of: "/n1,", with: "/future,").replacingOccurrences(of: "2026-11-21T10:00:01Z", with: "2099-01-01T00:00:00Z")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run(bin, ["--site", server.url, "--no-state", file], environment: env())
        #expect(r.stderr.contains("\(file):5: the server rejected the hit: created_at: in the future"), "\(r.stderr)")
        #expect(try server.hits().map { $0["path"] as! String } == ["/n0", "/n2"])
    }

    @Test("migrate between two servers: export, import, verify clean; a rerun with --export-id sends nothing")
    func migrate() throws {
        let source = try Self.server(), target = try Self.server()
        #expect(try run(bin, ["--site", source.url, "--no-state", ExportCSVTests.gzPath], environment: env()).status == 0)
        let r = try run(bin, ["migrate", "--from", source.url, "--to", target.url, "--state", state, "--settle", "0"], environment: env())
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("OK: GoatCounter has every hit of the logs, once"), "\(r.stdout)")
        #expect(try target.hits().count == 120)
        let again = try run(bin, ["migrate", "--from", source.url, "--to", target.url, "--state", state, "--settle", "0", "--export-id", "1"], environment: env())
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("using the kept download of export 1"))
        #expect(try target.hits().count == 120, "nothing sent twice")
    }

    @Test("a source without individual pageviews exports an empty file: migrate and verify say which setting")
    func emptyExport() throws {
        let source = try Self.server(), target = try Self.server()
        _ = try source.control("POST", "/_test/config", ["collect": 190])
        let r = try run(bin, ["migrate", "--from", source.url, "--to", target.url, "--state", state, "--settle", "0"], environment: env())
        #expect(r.status == 1)
        #expect(r.stderr.contains("\"Individual pageviews\""), "\(r.stderr)")
        #expect(r.stderr.contains("migrate --from-statistics"), "the way out is named: \(r.stderr)")
        #expect(try target.hits().isEmpty)
    }
}
