import Foundation
import Testing
@testable import GoatImportCore

/// `--follow` end to end: the real binary following a live log across rotations.
@Suite(.serialized)
struct FollowRunTests {
    let dir = TestPaths.tempDir()
    var log: String { dir.appendingPathComponent("access.log").path }
    var state: String { dir.appendingPathComponent("state.json").path }
    let helper = CheckpointRunTests()

    var env: [String: String] {
        var e = ProcessInfo.processInfo.environment
        e["GOATCOUNTER_API_KEY"] = "test-key"
        return e
    }

    /// Waits (by polling the server's own record, bounded) until `count` hits arrived.
    func waitForHits(_ server: TestServer, _ count: Int, seconds: Double = 30) throws -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        var paths: [String] = []
        repeat {
            paths = try server.hits().map { $0["path"] as! String }
            if paths.count >= count { break }
            usleep(50_000)
        } while Date() < deadline
        return paths
    }

    func start(_ server: TestServer, _ extra: [String] = []) throws -> (Process, Pipe) {
        try startGoatimport(["--site", server.url, "--state", state, "--follow", log] + extra, environment: env)
    }

    @Test("--follow catches up on more rotated files than it may open: one backlog file is open at a time")
    func backlogBeyondDescriptorLimit() throws {
        let server = try CheckpointRunTests.noLimits()
        // access.log.400 (the oldest) holds /n1 … access.log.1 holds /n400; the live log /n401.
        for i in 1...400 { try helper.append(CheckpointRunTests.lines(i..<(i + 1)), to: "\(log).\(401 - i)") }
        try helper.append(CheckpointRunTests.lines(401..<402), to: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", TestPaths.binary,
                             "--site", server.url, "--state", state, "--follow", "--from", "beginning", log]
        process.environment = env
        let err = Pipe()
        process.standardError = err
        try process.run()
        let got = try waitForHits(server, 401)
        process.terminate()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(got == (1...401).map { "/n\($0)" }, "oldest first, each once: \(stderr)")
        #expect(process.terminationStatus == 0, "\(stderr)")
    }

    @Test("more live logs than descriptors allow: a clear error and exit 1, never a crash")
    func liveLogsBeyondDescriptorLimit() throws {
        let server = try CheckpointRunTests.noLimits()
        for i in 0..<30 { try helper.append(CheckpointRunTests.lines(i..<(i + 1)), to: dir.appendingPathComponent("site\(i).access.log").path) }
        let r = try run("/bin/sh", ["-c", "ulimit -n 48 && exec \"$0\" \"$@\"", TestPaths.binary, "--site", server.url, "--state", state,
                                    "--follow", "--from", "beginning", dir.appendingPathComponent("*.access.log").path], environment: env)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("Too many open files"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"), "\(r.stderr)")
    }

    @Test("follows appended lines, waits for a partial line, flushes when quiet, survives rename rotation and a restart")
    func followRotateRestart() throws {
        let server = try CheckpointRunTests.noLimits()
        try helper.append(CheckpointRunTests.lines(0..<10), to: log)
        var (process, _) = try start(server)
        #expect(try waitForHits(server, 10) == (0..<10).map { "/n\($0)" })
        let eleven = CheckpointRunTests.lines(10..<11)
        try helper.append(CheckpointRunTests.lines(10..<10) + String(eleven.prefix(30)), to: log)   // partial
        try helper.append(String(eleven.dropFirst(30)) + CheckpointRunTests.lines(11..<15), to: log)
        #expect(try waitForHits(server, 15) == (0..<15).map { "/n\($0)" })
        // logrotate with `create`: rename, new file; the server keeps writing the old one a moment.
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try helper.append(CheckpointRunTests.lines(15..<18), to: log + ".1")
        try helper.append(CheckpointRunTests.lines(18..<25), to: log)
        let rotated = try waitForHits(server, 25)
        #expect(rotated.sorted() == (0..<25).map { "/n\($0)" }.sorted(), "after the rotation: \(rotated)")
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // Written while goatimport was down; a restart resumes from the checkpoint.
        try helper.append(CheckpointRunTests.lines(25..<30), to: log)
        (process, _) = try start(server)
        let got = try waitForHits(server, 30)
        process.terminate()
        process.waitUntilExit()
        #expect(got.sorted() == (0..<30).map { "/n\($0)" }.sorted(), "nothing lost")
        #expect(got.count == Set(got).count, "nothing twice")
    }

    @Test("--from end skips the history on the first run")
    func fromEnd() throws {
        let server = try CheckpointRunTests.noLimits()
        try helper.append(CheckpointRunTests.lines(0..<10), to: log)
        let (process, _) = try start(server, ["--from", "end"])
        // The follower is up once its checkpoint file exists? It has none yet; append until seen.
        var got: [String] = []
        for round in 0..<40 where got.isEmpty {
            try helper.append(CheckpointRunTests.lines((100 + round)..<(101 + round)), to: log)
            got = try waitForHits(server, 1, seconds: 0.5)
        }
        process.terminate()
        process.waitUntilExit()
        #expect(!got.isEmpty)
        #expect(got.allSatisfy { Int($0.dropFirst(2))! >= 100 }, "no line from before the start: \(got)")
    }

    @Test("a server that refuses a whole batch ends --follow with an error instead of hanging on a quiet log")
    func refusedEndsFollow() throws {
        let server = try CheckpointRunTests.noLimits()
        try server.faults([["kind": "status", "status": 400, "error": "unknown parameter: \"wat\""]])
        try helper.append(CheckpointRunTests.lines(0..<5), to: log)
        let (process, err) = try start(server)
        process.waitUntilExit()   // ends by itself: the test would time out otherwise
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 1)
        #expect(stderr.contains("refused a whole batch"), "\(stderr)")
    }

    @Test("--follow with a glob: every matching log, and a log that appears later, from its first line")
    func followGlob() throws {
        let server = try CheckpointRunTests.noLimits()
        let a = dir.appendingPathComponent("a.access.log").path, b = dir.appendingPathComponent("b.access.log").path
        try helper.append(CheckpointRunTests.lines(0..<5), to: a)
        let (process, _) = try startGoatimport(["--site", server.url, "--state", state, "--follow", dir.path + "/*.access.log"],
                                               environment: env)
        #expect(try waitForHits(server, 5).count == 5)
        try helper.append(CheckpointRunTests.lines(5..<8), to: b)      // a new virtual host's log
        try helper.append(CheckpointRunTests.lines(8..<10), to: a)
        let got = try waitForHits(server, 10)
        process.terminate()
        process.waitUntilExit()
        #expect(got.sorted() == (0..<10).map { "/n\($0)" }.sorted())
        #expect(process.terminationStatus == 0)
    }

    @Test("--follow on a W3C log resumed at its checkpoint reads its columns from the #Fields: line above")
    func followW3CResume() throws {
        let server = try CheckpointRunTests.noLimits()
        // Columns in an order of their own: read with IIS's default order, no line would fit.
        func lines(_ range: Range<Int>) -> String {
            range.map { "203.0.113.\($0 % 200 + 1) GET /w\($0) 200 2026-11-27 10:00:\(String(format: "%02d", $0 % 60)) Mozilla/5.0+(X11;+Linux+x86_64)+Firefox/132.0\r\n" }.joined()
        }
        try helper.append("#Version: 1.0\r\n#Fields: c-ip cs-method cs-uri-stem sc-status date time cs(User-Agent)\r\n" + lines(0..<5), to: log)
        let args = ["--site", server.url, "--state", state, "--format", "w3c", "--follow", log]
        var (process, _) = try startGoatimport(args, environment: env)
        #expect(try waitForHits(server, 5) == (0..<5).map { "/w\($0)" })
        process.terminate()
        process.waitUntilExit()
        try helper.append(lines(5..<8), to: log)
        (process, _) = try startGoatimport(args, environment: env)
        let got = try waitForHits(server, 8)
        process.terminate()
        process.waitUntilExit()
        #expect(got == (0..<8).map { "/w\($0)" }, "the lines after the checkpoint are read with the log's own columns")
    }
}
