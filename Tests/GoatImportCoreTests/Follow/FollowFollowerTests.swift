import Foundation
import Testing
@testable import GoatImportCore
#if canImport(Glibc)
import Glibc
#endif

@Suite("Follow: file follower")
struct FollowFollowerTests {
    static func options(_ clock: FollowClock, from: FileFollower.StartPosition = .beginning, grace: Double = 5) -> FileFollower.Options {
        var o = FileFollower.Options()
        o.from = from
        o.gracePeriod = grace
        o.clock = { clock.now }
        return o
    }

    static func texts(_ f: FileFollower) throws -> [String] {
        var out: [String] = []
        try pumpAll(f) { out.append(followText($0)) }
        return out
    }

    @Test("a backlog file rotated again before its turn is found by its identity: each line once, oldest first")
    func backlogRotatedBeforeItsTurn() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log.2", "a1\na2\n")
        dir.write("access.log.1", "b1\nb2\n")
        dir.write("access.log", "c1\n")
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        let backlog = try CatchUp.plan(livePath: dir.file("access.log"), store: store, from: .beginning)
        let f = FileFollower(path: dir.file("access.log"), store: store, options: Self.options(clock), backlog: backlog)
        var seen: [String] = []
        try pumpAll(f) { seen.append(followText($0)) }
        // logrotate runs again while the first backlog file is read: every name shifts by one.
        for (from, to) in [("access.log.2", "access.log.3"), ("access.log.1", "access.log.2"), ("access.log", "access.log.1")] {
            #expect(rename(dir.file(from), dir.file(to)) == 0)
        }
        dir.write("access.log", "d1\n")
        for _ in 0..<6 {
            clock.now += 6
            try pumpAll(f) { seen.append(followText($0)) }
        }
        #expect(seen == ["a1", "a2", "b1", "b2", "c1", "d1"], "\(f.events)")
    }

    @Test func partialLineWaitsForNewline() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log", "one\ntw")
        let f = FileFollower(path: dir.file("access.log"), store: nil, options: Self.options(clock))
        #expect(try Self.texts(f) == ["one"])
        dir.append("access.log", "o\r\nthree")
        #expect(try Self.texts(f) == ["two"])
        dir.append("access.log", "\n")
        var last: FileFollower.FollowedLine?
        try pumpAll(f) { last = $0; #expect(followText($0) == "three") }
        let cp = try #require(last?.checkpoint)
        #expect(cp.offset == 15)
        #expect(cp.line == 3)
        #expect(cp.tail == TailCheck.hash(Array("one\ntwo\r\nthree\n".utf8)))
        #expect(cp.fingerprint == (try FileFingerprint.compute(path: dir.file("access.log"))))
    }

    @Test func startsAtEndOnFirstRunAndAtCheckpointLater() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log", "old1\nold2\npart")
        let store = try CheckpointStore(path: dir.file("state/state.json"), durable: false)
        var f = FileFollower(path: dir.file("access.log"), store: store, options: Self.options(clock, from: .end))
        dir.append("access.log", "ial\nnew\n")
        try pumpAll(f) { store.update($0.checkpoint) }
        dir.append("access.log", "unacknowledged\n")
        try store.save()
        // Restart: resumes at the checkpoint, even with from: .end.
        f = FileFollower(path: dir.file("access.log"), store: try CheckpointStore(path: store.path),
                         options: Self.options(clock, from: .end))
        #expect(try Self.texts(f) == ["unacknowledged"])
    }

    @Test("from: .end records where it starts, so every site of a site map starts there")
    func fromEndStartIsEverySitesBase() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log", "history1\nhistory2\n")
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        let f = FileFollower(path: dir.file("access.log"), store: store, options: Self.options(clock, from: .end))
        dir.append("access.log", "new\n")
        var first: Checkpoint?
        try pumpAll(f) { first = first ?? $0.checkpoint }
        // Only site a acknowledged (a crash before site b's first acknowledgement).
        store.update(first!, site: "a", of: ["a", "b"])
        let entry = store.checkpoint(for: first!.fingerprint)!
        #expect(entry.sites["b"]?.offset == Int64("history1\nhistory2\n".utf8.count), "b starts at the end of the history")
        #expect(entry.offset == entry.sites["b"]?.offset)
        #expect(entry.sites["a"]?.offset == first!.offset)
    }

    @Test func tailMismatchRestartsAtZero() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log", "first\nsecond\n")
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        try pumpAll(FileFollower(path: dir.file("access.log"), store: nil, options: Self.options(clock))) { store.update($0.checkpoint) }
        // Same first line, different bytes before the offset (rewritten file).
        dir.write("access.log", "first\nSECOND\nthird\n")
        let f = FileFollower(path: dir.file("access.log"), store: store, options: Self.options(clock))
        #expect(try Self.texts(f) == ["first", "SECOND", "third"])
    }

    @Test func renameRotationDrainsOldFileDuringGracePeriod() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log", "a1\n")
        let f = FileFollower(path: dir.file("access.log"), store: nil, options: Self.options(clock))
        #expect(try Self.texts(f) == ["a1"])
        try FileManager.default.moveItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        dir.write("access.log", "b1\n")
        #expect(try Self.texts(f) == [])
        dir.append("access.log.1", "a2\n")   // the server still writes to the old file
        clock.now += 4
        #expect(try Self.texts(f) == ["a2"])
        clock.now += 4.9
        #expect(try Self.texts(f) == [])
        clock.now += 0.2
        #expect(try Self.texts(f) == ["b1"])
        #expect(f.events.contains { $0.hasPrefix("rotated") })
    }

    @Test func copytruncateRestartsAndReadsUnreadLinesFromTheCopy() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log", "a1\n")
        let f = FileFollower(path: dir.file("access.log"), store: nil, options: Self.options(clock))
        #expect(try Self.texts(f) == ["a1"])
        dir.append("access.log", "a2\na3\n")
        try FileManager.default.copyItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        #expect(truncate(dir.file("access.log"), 0) == 0)
        dir.append("access.log", "b1\n")
        #expect(try Self.texts(f) == ["a2", "a3", "b1"])
        #expect(f.events.contains { $0.hasPrefix("truncated") || $0.hasPrefix("rewritten") })
    }

    @Test func copytruncateOfTheLiveFileWhileTheBacklogIsReadIsNoticed() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        dir.write("access.log.1", "a1\n")     // the server may still write to it
        dir.write("access.log", "")
        let plan = try CatchUp.plan(livePath: dir.file("access.log"), store: store, from: .beginning)
        let f = FileFollower(path: dir.file("access.log"), store: store, options: Self.options(clock), backlog: plan)
        #expect(try Self.texts(f) == ["a1"])
        dir.append("access.log", "b1\nb2\n")
        #expect(try Self.texts(f) == [])      // still draining access.log.1
        // copytruncate before access.log was ever read: b1 and b2 are only in the copy.
        try FileManager.default.moveItem(atPath: dir.file("access.log.1"), toPath: dir.file("access.log.2"))
        try FileManager.default.copyItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        #expect(truncate(dir.file("access.log"), 0) == 0)
        dir.append("access.log", "c1\n")
        clock.now += 6
        #expect(try Self.texts(f) == ["b1", "b2", "c1"])
        #expect(f.events.contains { $0.hasPrefix("copy") })
    }

    @Test func aFileRotatedAgainBeforeItsTurnIsStillRead() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("access.log", "a1\n")
        let f = FileFollower(path: dir.file("access.log"), store: nil, options: Self.options(clock))
        #expect(try Self.texts(f) == ["a1"])
        try FileManager.default.moveItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        dir.write("access.log", "b1\n")
        #expect(try Self.texts(f) == [])      // draining a's descriptor
        // Rotated again before the grace period of the first rotation is over.
        try FileManager.default.moveItem(atPath: dir.file("access.log.1"), toPath: dir.file("access.log.2"))
        try FileManager.default.moveItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        dir.write("access.log", "c1\n")
        dir.append("access.log.1", "b2\n")
        #expect(try Self.texts(f) == [])
        clock.now += 6
        #expect(try Self.texts(f) == ["b1", "b2", "c1"])
    }

    @Test func stopFromAnotherThreadWakesABlockedNext() throws {
        let dir = FollowTempDir()
        dir.write("access.log", "")
        let f = FileFollower(path: dir.file("access.log"), store: nil)
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { f.stop() }
        #expect(try f.next(timeout: 30) == nil)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(f.isStopped)
    }

    @Test func inotifyWakesABlockedNext() throws {
        let dir = FollowTempDir()
        dir.write("access.log", "")
        let f = FileFollower(path: dir.file("access.log"), store: nil)
        #expect(f.usesInotify)
        let path = dir.file("access.log")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) {
            let fd = open(path, O_WRONLY | O_APPEND)
            _ = "hello\n".withCString { write(fd, $0, 6) }
            close(fd)
        }
        let started = Date()
        let line = try f.next(timeout: 30)
        #expect(line.map(followText) == "hello")
        #expect(Date().timeIntervalSince(started) < 1.9)   // before the 2 s safety re-check
    }

    @Test func nextTimesOutWithoutInotify() throws {
        let dir = FollowTempDir()
        dir.write("access.log", "")
        var o = FileFollower.Options()
        o.useInotify = false
        o.pollInterval = 0.05
        let f = FileFollower(path: dir.file("access.log"), store: nil, options: o)
        #expect(!f.usesInotify)
        let started = Date()
        #expect(try f.next(timeout: 0.2) == nil)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.19 && elapsed < 2)
        dir.append("access.log", "x\n")
        #expect(try f.next(timeout: 1).map(followText) == "x")
    }

    @Test func catchUpPlanResumesRotatedFilesOldestFirst() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        // Last run: access.log read up to a2.
        dir.write("access.log", "a1\na2\n")
        try pumpAll(FileFollower(path: dir.file("access.log"), store: store, options: Self.options(clock))) { store.update($0.checkpoint) }
        // Since then: more lines, two rotations, compression.
        dir.append("access.log", "a3\n")
        try FileManager.default.moveItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        dir.write("access.log", "b1\nb2\n")
        try FileManager.default.moveItem(atPath: dir.file("access.log.1"), toPath: dir.file("access.log.2"))
        dir.gzip("access.log.2")
        try FileManager.default.moveItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        dir.write("access.log", "c1\n")
        dir.write("unrelated.log", "zzz\n")

        #expect(CatchUp.siblings(of: dir.file("access.log")) == [dir.file("access.log.2.gz"), dir.file("access.log.1")])
        let plan = try CatchUp.plan(livePath: dir.file("access.log"), store: store, from: .end)
        #expect(plan.map(\.path) == [dir.file("access.log.2.gz"), dir.file("access.log.1")])
        #expect(plan.map(\.startOffset) == [6, 0])
        var o = Self.options(clock)
        o.gracePeriod = 0   // timer mode
        let f = FileFollower(path: dir.file("access.log"), store: store, options: o, backlog: plan)
        var seen: [String] = []
        try pumpAll(f) { seen.append(followText($0)); store.update($0.checkpoint) }
        #expect(seen == ["a3", "b1", "b2", "c1"])
        // Everything is done now. A recently modified plain file is still read from its end
        // (the server may not have reopened its logs yet); a settled one is skipped.
        let again = try CatchUp.plan(livePath: dir.file("access.log"), store: store, from: .end)
        #expect(again.map(\.path) == [dir.file("access.log.1")])
        #expect(again.map(\.startOffset) == [6])
        #expect(try CatchUp.plan(livePath: dir.file("access.log"), store: store, from: .end, settled: -1).isEmpty)
    }

    @Test func catchUpFirstRunFromEndSkipsOldFiles() throws {
        let dir = FollowTempDir()
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        dir.write("access.log.1", "old\n")
        dir.write("access.log", "live\n")
        #expect(try CatchUp.plan(livePath: dir.file("access.log"), store: store, from: .end).isEmpty)
        #expect(store.checkpoints.first?.complete == true)
        let fresh = try CheckpointStore(path: dir.file("state2.json"), durable: false)
        #expect(try CatchUp.plan(livePath: dir.file("access.log"), store: fresh, from: .beginning).map(\.path) == [dir.file("access.log.1")])
    }
}
