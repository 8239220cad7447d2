import Foundation
import Testing
@testable import GoatImportCore

/// A W3C log resumed at its checkpoint takes its columns from the `#Fields:` line above the
/// checkpoint, read from the file the follower holds open, not from whatever the path names.
@Suite("Follow: W3C resume")
struct FollowW3CResumeTests {
    /// Columns in an order of their own: read with any other order, no line fits.
    static let header = "#Version: 1.0\r\n#Fields: c-ip cs-method cs-uri-stem sc-status date time cs(User-Agent)\r\n"
    static func lines(_ range: Range<Int>) -> String {
        range.map { "203.0.113.\($0 + 1) GET /w\($0) 200 2026-11-27 10:00:\(String(format: "%02d", $0)) Mozilla/5.0+(X11;+Linux+x86_64)+Firefox/132.0\r\n" }.joined()
    }

    @Test("rotated between opening and reading: the #Fields: line comes from the open file, not the path's new one")
    func fieldsFromTheOpenFile() throws {
        let dir = FollowTempDir()
        let log = dir.file("u_ex.log")
        dir.write("u_ex.log", Self.header + Self.lines(0..<5))
        // Acknowledged up to /w1 by an earlier run.
        let file = try LogFile(path: log)
        let offset = Int64((Self.header + Self.lines(0..<2)).utf8.count)
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        store.update(Checkpoint(fingerprint: try #require(try file.fingerprint()), offset: offset,
                                tail: try #require(try file.tailHash(before: offset)), line: 4, path: log))
        var options = FileFollower.Options()
        options.from = .beginning
        let follower = FileFollower(path: log, store: store, options: options)
        // The log is rotated before its lines are read; the new file at the path has other
        // columns, and is longer than the old file's part before the checkpoint.
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        dir.write("u_ex.log", "#Version: 1.0\r\n#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\r\n"
            + (0..<5).map { "2026-11-28 10:00:0\($0) 198.51.100.\($0 + 1) GET /new\($0) 200 curl\r\n" }.joined())

        var errors: [String] = []
        var importerOptions = Importer.Options(format: try LogFormat.resolve("w3c"))
        importerOptions.onInputError = { errors.append($0) }
        let sink = CollectingFollowSink()
        let stop = StopSignal()
        let summary = try Importer(options: importerOptions).follow(DrainingFollower(follower, stop: stop), into: sink, stop: stop)
        #expect(errors == [])
        #expect(summary[.malformed] == 0)
        #expect(sink.hits.hits.map { $0["path"] as? String } == ["/w2", "/w3", "/w4"])
    }
}

/// Hands out what the follower has ready now, then stops the import (a follow that drains).
final class DrainingFollower: LineFollowing {
    let inner: FileFollower
    let stopSignal: StopSignal
    init(_ inner: FileFollower, stop: StopSignal) {
        self.inner = inner
        stopSignal = stop
    }

    func next(timeout: Double) throws -> FileFollower.FollowedLine? {
        if let line = try inner.next(timeout: 0) { return line }
        stopSignal.stop()
        return nil
    }

    func stop() { inner.stop() }
}

/// The follow loop's sink, collecting hits in memory.
final class CollectingFollowSink: FollowingSink {
    let hits = CollectingSink()
    func note(mark: CheckpointMark) {}
    func flush() throws {}
    func bufferForNextHit(at position: LinePosition) throws -> ByteBuffer { hits.bufferForNextHit(at: position) }
    func didEncodeHit(at position: LinePosition) throws { try hits.didEncodeHit(at: position) }
    func didSkipLine(at position: LinePosition, reason: SkipReason) throws { try hits.didSkipLine(at: position, reason: reason) }
    func didFinishInput(_ input: Int) throws {}
    func finish() throws {}
}
