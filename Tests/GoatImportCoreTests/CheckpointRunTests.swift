import Foundation
import Testing
@testable import GoatImportCore

/// Checkpoints end to end: the real binary, the test server, a real state file, reruns,
/// rotations, kill -9 and SIGTERM.
@Suite(.serialized)
struct CheckpointRunTests {
    let bin = TestPaths.binary
    let dir = TestPaths.tempDir()
    var state: String { dir.appendingPathComponent("state/state.json").path }
    var log: String { dir.appendingPathComponent("access.log").path }

    var env: [String: String] {
        var e = ProcessInfo.processInfo.environment
        e["GOATCOUNTER_API_KEY"] = "test-key"
        return e
    }

    static let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

    /// Pageview lines with unique paths /n{from}…/n{to-1}.
    static func lines(_ range: Range<Int>) -> String {
        range.map { "198.51.100.\($0 % 250 + 1) - - [01/Nov/2026:10:\(String(format: "%02d", $0 / 60 % 60)):\(String(format: "%02d", $0 % 60)) +0000] \"GET /n\($0) HTTP/1.1\" 200 5 \"-\" \"\(ua)\"\n" }.joined()
    }

    func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    func importRun(_ server: TestServer, _ files: [String], _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(bin, ["--site", server.url, "--state", state, "--batch-size", "20"] + extra + files, environment: env)
    }

    func paths(_ server: TestServer) throws -> [String] { try server.hits().map { $0["path"] as! String } }

    static func noLimits() throws -> TestServer { try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"]) }

    @Test("a rerun sends nothing twice; appended lines are sent once; a half-written last line waits")
    func rerun() throws {
        let server = try Self.noLimits()
        try append(Self.lines(0..<50), to: log)
        #expect(try importRun(server, [log]).status == 0)
        #expect(try paths(server) == (0..<50).map { "/n\($0)" })
        #expect(try importRun(server, [log]).status == 0)
        #expect(try paths(server).count == 50, "nothing sent twice")
        let more = Self.lines(50..<60)
        try append(more + String(Self.lines(60..<61).dropLast(20)), to: log)   // the last line is half written
        #expect(try importRun(server, [log]).status == 0)
        #expect(try paths(server) == (0..<60).map { "/n\($0)" })
        try append(String(Self.lines(60..<61).suffix(20)), to: log)
        #expect(try importRun(server, [log]).status == 0)
        #expect(try paths(server) == (0..<61).map { "/n\($0)" }, "the completed line is sent whole")
        let attributes = try FileManager.default.attributesOfItem(atPath: state)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("after logrotate (rename, then compress) the rotated file is finished first, then the new one")
    func rotation() throws {
        let server = try Self.noLimits()
        try append(Self.lines(0..<30), to: log)
        #expect(try importRun(server, [log]).status == 0)
        try append(Self.lines(30..<40), to: log)                       // written after the last run
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1") // logrotate: rename
        try append(Self.lines(40..<55), to: log)                        // the new live file
        #expect(try importRun(server, [log + ".1", log]).status == 0)
        #expect(try paths(server) == (0..<55).map { "/n\($0)" })
        // Next rotation: .1 is compressed, the live file renamed again.
        try run("/bin/gzip", ["-n", log + ".1"])
        try FileManager.default.moveItem(atPath: log + ".1.gz", toPath: log + ".2.gz")
        try append(Self.lines(55..<60), to: log)
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try append(Self.lines(60..<70), to: log)
        let r = try importRun(server, [log, log + ".1", log + ".2.gz"])   // shell order: newest first
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try paths(server) == (0..<70).map { "/n\($0)" })
    }

    @Test("copytruncate: the old content is gone, the new first line is a new file read from 0")
    func copytruncate() throws {
        let server = try Self.noLimits()
        try append(Self.lines(0..<20), to: log)
        #expect(try importRun(server, [log]).status == 0)
        try FileManager.default.copyItem(atPath: log, toPath: log + ".1")
        try Data().write(to: URL(fileURLWithPath: log))
        try append(Self.lines(20..<25), to: log)
        #expect(try importRun(server, [log + ".1", log]).status == 0)
        #expect(try paths(server) == (0..<25).map { "/n\($0)" })
    }

    @Test("a replaced file whose first line is the same but whose content before the offset differs restarts at 0")
    func tailCheck() throws {
        let server = try Self.noLimits()
        try append(Self.lines(0..<10), to: log)
        #expect(try importRun(server, [log]).status == 0)
        // Same first line (so the same identity), different bytes before the saved offset.
        let replaced = Self.lines(0..<1) + Self.lines(100..<120)
        try Data(replaced.utf8).write(to: URL(fileURLWithPath: log))
        let r = try importRun(server, [log])
        #expect(r.stderr.contains("reading it from the start"), "\(r.stderr)")
        #expect(try paths(server) == (0..<10).map { "/n\($0)" } + ["/n0"] + (100..<120).map { "/n\($0)" })
    }

    @Test("kill -9 at several points, rerun until done: nothing lost, at most one batch twice per kill")
    func killNine() throws {
        let server = try Self.noLimits()
        try append(Self.lines(0..<400), to: log)
        var kills = 0
        for killAfter in [2, 5, 9, 14] {
            // Every request is a little slow, so the kill lands during an exchange or a save.
            try server.faults([["kind": "slow", "seconds": 0.05, "times": 1000]])
            let before = try server.countRequests()
            let (process, _) = try startGoatimport(["--site", server.url, "--state", state, "--batch-size", "20", log], environment: env)
            let deadline = Date().addingTimeInterval(20)
            while try server.countRequests() < before + killAfter && Date() < deadline && process.isRunning { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); kills += 1 }
            process.waitUntilExit()
        }
        _ = try server.control("DELETE", "/_test/faults")
        #expect(try importRun(server, [log]).status == 0)
        let got = try paths(server)
        #expect(Set(got) == Set((0..<400).map { "/n\($0)" }), "nothing lost")
        let duplicates = got.count - Set(got).count
        #expect(duplicates <= kills * 20, "at most one batch of 20 per kill (\(duplicates) duplicates, \(kills) kills)")
        print("kill -9 test: \(kills) kills, \(duplicates) duplicated hits, 0 lost")
    }

    @Test("SIGTERM, then a rerun: nothing lost, nothing twice")
    func sigtermRerun() throws {
        let server = try Self.noLimits()
        try append(Self.lines(0..<200), to: log)
        try server.faults([["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 2]])
        let (process, _) = try startGoatimport(["--site", server.url, "--state", state, "--batch-size", "20", log], environment: env)
        let deadline = Date().addingTimeInterval(20)
        while try server.countRequests() < 3 && Date() < deadline { usleep(10_000) }
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try paths(server).count == 60)
        #expect(try importRun(server, [log]).status == 0)
        #expect(try paths(server) == (0..<200).map { "/n\($0)" })
    }

    @Test("a second run on the same state file says another run holds the lock; a corrupt state file is an error")
    func lockAndCorruption() throws {
        let server = try Self.noLimits()
        try append(Self.lines(0..<100), to: log)
        try server.faults([["kind": "slow", "seconds": 3]])
        let (first, _) = try startGoatimport(["--site", server.url, "--state", state, "--batch-size", "20", log], environment: env)
        let deadline = Date().addingTimeInterval(20)
        while try server.countRequests() < 1 && Date() < deadline { usleep(10_000) }
        let second = try importRun(server, [log])
        #expect(second.status == 75, "steps aside: EX_TEMPFAIL, which the timer's unit counts as success")
        #expect(second.stderr.contains("another goatimport run holds the lock"), "\(second.stderr)")
        first.terminate()
        first.waitUntilExit()
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: state))
        let corrupt = try importRun(server, [log])
        #expect(corrupt.status != 0)
        #expect(corrupt.stderr.contains(state), "\(corrupt.stderr)")
    }
}
