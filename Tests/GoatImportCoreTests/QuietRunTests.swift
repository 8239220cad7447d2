import Foundation
import Testing
@testable import GoatImportCore

/// Runs that keep state but send nothing: they must end as cleanly as busy ones (the visits of
/// a run with no hit used to overflow `Int.min - gap` and trap on save).
@Suite(.serialized)
struct QuietRunTests {
    let dir = TestPaths.tempDir()
    var state: String { dir.appendingPathComponent("state/state.json").path }
    let helper = CheckpointRunTests()

    @Test("an empty log and a log of only bots, with checkpoints: exit 0, visits saved")
    func nothingToSend() throws {
        let server = try CheckpointRunTests.noLimits()
        let empty = dir.appendingPathComponent("empty.log").path
        FileManager.default.createFile(atPath: empty, contents: nil)
        let bots = dir.appendingPathComponent("bots.log").path
        try helper.append((0..<5).map {
            "198.51.100.\($0) - - [01/Nov/2026:10:00:0\($0) +0000] \"GET /p HTTP/1.1\" 200 5 \"-\" \"Googlebot/2.1 (+http://www.google.com/bot.html)\"\n"
        }.joined(), to: bots)
        for log in [empty, bots] {
            let r = try run(TestPaths.binary, ["--site", server.url, "--state", state, log], environment: testEnvironment())
            #expect(r.status == 0, "\(log): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("crashed"), "\(r.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("state/sessions.json").path))
        #expect(try server.hits().isEmpty)
    }

    @Test("--follow stopped on a quiet log, from its end, and on a glob that matches nothing: exit 0", arguments: ["quiet", "end", "glob"])
    func quietFollowStops(_ kind: String) throws {
        let server = try CheckpointRunTests.noLimits()
        let log = dir.appendingPathComponent("access.log").path
        // Quiet: an empty log followed from its start; end: history skipped, nothing new.
        if kind == "end" { try helper.append(CheckpointRunTests.lines(0..<3), to: log) } else { FileManager.default.createFile(atPath: log, contents: nil) }
        let target = kind == "glob" ? dir.appendingPathComponent("none-*.log").path : log
        let extra = kind == "end" ? ["--from", "end"] : []
        let (process, err) = try startGoatimport(["--site", server.url, "--state", state, "--follow"] + extra + [target],
                                                 environment: testEnvironment())
        #expect(waitUntilHandlingSignals(process.processIdentifier), "goatimport never set up its signal handlers")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("interrupted"), "\(stderr)")
        #expect(try server.hits().isEmpty)
    }

    @Test("the tracker saves and prunes with no visit at all, and refuses a sessions file with impossible times")
    func trackerWithoutHits() throws {
        let tracker = SessionTracker(secret: [UInt8](repeating: 1, count: 32), gap: 8 * 3600)
        tracker.prune()
        let path = dir.appendingPathComponent("sessions.json").path
        try tracker.save(to: path)
        try SessionTracker(secret: [UInt8](repeating: 1, count: 32)).load(from: path)
        try Data(#"{"version":1,"gap":28800,"visits":{"1f":[-9223372036854775808,9223372036854775807]}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect(throws: SessionTracker.SessionError.self) { try SessionTracker(secret: [UInt8](repeating: 1, count: 32)).load(from: path) }
    }
}

/// Whether `pid` has taken SIGTERM over yet (ignored, or caught by its dispatch source; its
/// handlers set SIGINT up first, so a SIGINT sent after this is handled), waiting at most `seconds`.
func waitUntilHandlingSignals(_ pid: Int32, seconds: Double = 20) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    func mask(_ status: String, _ name: String) -> UInt64 {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
        return UInt64(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
    }
    while Date() < deadline {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        if (mask(status, "SigIgn:") | mask(status, "SigCgt:")) & (1 << (UInt64(SIGTERM) - 1)) != 0 { return true }
        usleep(10_000)
    }
    return false
}
