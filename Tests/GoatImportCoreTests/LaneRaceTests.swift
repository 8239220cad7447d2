import Foundation
import Testing
@testable import GoatImportCore

/// Parse lanes share nothing mutable: a named --tz (its hour cache) and --exclude/--include rules
/// (their PCRE2 match data) belong to each lane. CI runs this suite under ThreadSanitizer, which
/// reports any access the lanes still share; without it, a torn cache or match data shows as
/// output that differs from one thread's.
@Suite struct LaneRaceTests {
    static let format = #"regex:^(?<remote_addr>\S+) (?<date>\S+) (?<time>\S+) "(?<method>\S+) (?<path>\S+)" (?<status>\d+) "(?<user_agent>[^"]*)"$"#

    /// Two days around the end of daylight saving in Amsterdam (2026-10-25 03:00 CEST → 02:00
    /// CET), a line every 7 minutes of wall-clock time so that the hour changes every few lines.
    static func log(lines: Int) -> String {
        var out = ""
        let start = Timestamp.daysFromCivil(2026, 10, 24) * 86400
        for i in 0..<lines {
            let t = start + (i * 7 * 60) % (2 * 86400)
            let d = Timestamp.civilFromDays(t / 86400)
            let s = t % 86400
            let stamp = String(format: "%04d-%02d-%02d %02d:%02d:%02d", d.year, d.month, d.day, s / 3600, s / 60 % 60, s % 60)
            let path = ["/a", "/private/x", "/b", "/private/keep"][i % 4]
            let ua = i % 8 == 3 ? "Mozilla/5.0 KeepMe" : "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"
            out += "198.51.100.\(i % 200) \(stamp) \"GET \(path)\" 200 \"\(ua)\"\n"
        }
        return out
    }

    func run(_ input: String, lanes: Int?) throws -> String {
        var options = Importer.Options(format: try LogFormat.resolve(Self.format))
        options.timeZone = try LogTimeZone("Europe/Amsterdam")
        options.filter.excludes = [try Rule("path:re:^/private/")]
        options.filter.includes = [try Rule("ua:re:(?i)keepme")]
        options.sessions = SessionTracker(secret: [UInt8](repeating: 3, count: 32))
        let out = TestPaths.tempDir().appendingPathComponent("out").path
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        if let lanes {
            _ = try LaneImporter(options: options, lanes: lanes, blockSize: 4096).run(inputs: [input], fd: fd)
        } else {
            _ = try Importer(options: options).run(inputs: [input], into: NDJSONSink(fd: fd))
        }
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    @Test("lanes with a named --tz across a DST change and with rules write what one thread writes")
    func sameAsOneThread() throws {
        let input = TestPaths.tempDir().appendingPathComponent("dst.log").path
        try Self.log(lines: 20_000).write(toFile: input, atomically: true, encoding: .utf8)
        let one = try run(input, lanes: nil)
        // Summer time before the change, winter time after; /private/ only when re-admitted.
        #expect(one.contains("\"created_at\":\"2026-10-24T10:00:00Z\""))
        #expect(one.contains("\"created_at\":\"2026-10-25T11:00:00Z\""))
        #expect(one.contains("/private/keep") && !one.contains("/private/x"))
        for lanes in [2, 4] {
            #expect(try run(input, lanes: lanes) == one, "\(lanes) lanes")
        }
    }

    @Test("FollowerGroup.stop from another thread while the parse thread adds the followers of new files")
    func stopWhileAdding() throws {
        let dir = TestPaths.tempDir()
        let store = try CheckpointStore(path: dir.appendingPathComponent("state.json").path, durable: false)
        var options = FollowerGroup.Options()
        options.rescanInterval = 0
        let group = try FollowerGroup(paths: [dir.appendingPathComponent("*.log").path], options: options) { live, _ in
            FileFollower(path: live, store: store, options: FileFollower.Options(), backlog: [])
        }
        let done = DispatchSemaphore(value: 0)
        Thread {
            for i in 0..<200 { FileManager.default.createFile(atPath: dir.appendingPathComponent("f\(i).log").path, contents: Data("x\n".utf8)) }
            group.stop()
            done.signal()
        }.start()
        while (try group.next(timeout: 0.01)) != nil || done.wait(timeout: .now()) == .timedOut {}
        #expect(try group.next(timeout: 0) == nil, "stopped")
    }
}
