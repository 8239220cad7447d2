import Foundation
import Testing
@testable import GoatImportCore

/// Damaged state and interrupted runs: each is a line that names the file and what to do, or a
/// report of what really happened.
@Suite(.serialized)
struct StateFaultTests {
    let dir = TestPaths.tempDir()
    var stateDir: URL { dir.appendingPathComponent("state") }
    var state: String { stateDir.appendingPathComponent("state.json").path }
    var log: String { dir.appendingPathComponent("access.log").path }
    let helper = CheckpointRunTests()

    func importRun(_ server: TestServer, _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(TestPaths.binary, ["--site", server.url, "--state", state, "--batch-size", "20"] + extra + [log], environment: testEnvironment())
    }

    @Test("a corrupt sessions.json or state file: exit 1, the file named with what to do, no usage text")
    func corruptFiles() throws {
        let server = try CheckpointRunTests.noLimits()
        try helper.append(CheckpointRunTests.lines(0..<5), to: log)
        #expect(try importRun(server).status == 0)
        let sessions = stateDir.appendingPathComponent("sessions.json").path
        try Data("{\"version\":1,\"gap\":".utf8).write(to: URL(fileURLWithPath: sessions))
        let r = try importRun(server)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains(sessions) && r.stderr.contains("move it away"), "\(r.stderr)")
        #expect(!r.stderr.contains("Usage:"), "\(r.stderr)")
        try FileManager.default.removeItem(atPath: sessions)
        try Data("{\"version\":1,\"files\":[{\"offset\":\"x\"}]}".utf8).write(to: URL(fileURLWithPath: state))
        let s = try importRun(server)
        #expect(s.status == 1, "\(s.stderr)")
        #expect(s.stderr.contains(state) && s.stderr.contains("remove the file"), "\(s.stderr)")
        #expect(!s.stderr.contains("Usage:"))
        #expect(try server.hits().count == 5, "nothing sent again")
    }

    @Test("temporary files a kill -9 left during a state or visits write are removed by the next run; others are kept")
    func staleTemporaries() throws {
        let server = try CheckpointRunTests.noLimits()
        try helper.append(CheckpointRunTests.lines(0..<5), to: log)
        try FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
        // What AtomicFile's mkstemp names look like when the rename never came.
        let stale = [".state.json.a1B2c3", ".sessions.json.Zz9Yy8", ".session-secret.000000"]
        let kept = [".state.json.bak", "state.json.a1B2c3", ".other.json.a1B2c3"]
        for name in stale + kept { FileManager.default.createFile(atPath: stateDir.appendingPathComponent(name).path, contents: Data("{".utf8)) }
        #expect(try importRun(server).status == 0)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: stateDir.path))
        for name in stale { #expect(!left.contains(name), "\(name) still there") }
        for name in kept { #expect(left.contains(name), "\(name) removed") }
    }

    @Test("SIGTERM mid-import: the summary (text and JSON) says what was read and sent")
    func summaryAfterStop() throws {
        let server = try CheckpointRunTests.noLimits()
        try helper.append(CheckpointRunTests.lines(0..<400), to: log)
        try server.faults([["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 0.01], ["kind": "slow", "seconds": 2]])
        let summary = dir.appendingPathComponent("summary.json").path
        let (process, err) = try startGoatimport(["--site", server.url, "--state", state, "--batch-size", "20",
                                                  "--summary-json", summary, log], environment: testEnvironment())
        let deadline = Date().addingTimeInterval(20)
        while try server.countRequests() < 3 && Date() < deadline { usleep(10_000) }
        process.terminate()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)")
        let sent = try server.hits().count
        #expect(sent == 60)
        #expect(stderr.contains("\(sent) hits sent"), "\(stderr)")
        #expect(!stderr.contains("goatimport: 0 lines read"), "\(stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as! [String: Any]
        #expect((json["lines"] as? Int ?? 0) >= sent, "\(json)")
        #expect((json["hits"] as? Int ?? 0) >= sent, "\(json)")
        #expect(((json["upload"] as? [String: Any])?["sent"] as? Int) == sent, "\(json)")
    }
}
