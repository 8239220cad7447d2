import Foundation
import Testing
@testable import GoatImportCore

@Suite("Follow: several logs and globs")
struct FollowerGroupTests {
    /// A group over `paths` whose followers use the test clock; `made` records each live path
    /// with whether it was new.
    static func group(_ paths: [String], clock: FollowClock, made: Box<[(String, Bool)]>, maxRun: Int = 50_000) throws -> FollowerGroup {
        var options = FollowerGroup.Options()
        options.clock = { clock.now }
        options.rescanInterval = 5
        options.maxRun = maxRun
        return try FollowerGroup(paths: paths, options: options) { live, isNew in
            made.value.append((live, isNew))
            let o = FollowFollowerTests.options(clock, from: .beginning)
            return FileFollower(path: live, store: nil, options: o)
        }
    }

    final class Box<T> { var value: T; init(_ v: T) { value = v } }

    static func drain(_ g: FollowerGroup) throws -> [String] {
        var out: [String] = []
        while let line = try g.next(timeout: 0) { out.append("\((line.path as NSString).lastPathComponent):\(followText(line))") }
        return out
    }

    @Test("several live paths: every line of each, one file at a time; rotated names map to their live path")
    func severalPaths() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("a.log", "a1\na2\n")
        dir.write("b.log", "b1\n")
        dir.write("a.log.1", "old\n")
        let made = Box<[(String, Bool)]>([])
        let g = try Self.group([dir.file("a.log.1"), dir.file("a.log"), dir.file("b.log")], clock: clock, made: made)
        #expect(made.value.map { ($0.0 as NSString).lastPathComponent } == ["a.log", "b.log"])
        #expect(try Self.drain(g) == ["a.log:a1", "a.log:a2", "b.log:b1"])
        dir.append("b.log", "b2\nb3\n")
        dir.append("a.log", "a3\n")
        let next = try Self.drain(g)
        #expect(next.sorted() == ["a.log:a3", "b.log:b2", "b.log:b3"])
        #expect(next.firstIndex(of: "b.log:b3")! == next.firstIndex(of: "b.log:b2")! + 1, "one file at a time")
    }

    @Test("a busy file yields to the others after maxRun lines")
    func fairness() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("a.log", (0..<10).map { "a\($0)\n" }.joined())
        dir.write("b.log", "b0\n")
        let g = try Self.group([dir.file("a.log"), dir.file("b.log")], clock: clock, made: Box([]), maxRun: 4)
        let got = try Self.drain(g)
        #expect(got.count == 11)
        #expect(got.firstIndex(of: "b.log:b0")! == 4)
    }

    @Test("a glob picks up files that start to match, from their first line; rotated files are not followed apart")
    func globPicksUpNewFiles() throws {
        let dir = FollowTempDir()
        let clock = FollowClock()
        dir.write("one.access.log", "1a\n")
        let made = Box<[(String, Bool)]>([])
        let g = try Self.group([dir.path + "/*.access.log*"], clock: clock, made: made)
        #expect(try Self.drain(g) == ["one.access.log:1a"])
        dir.write("two.access.log", "2a\n2b\n")
        dir.write("one.access.log.1", "rotated\n")
        #expect(try Self.drain(g) == [], "not before the rescan interval")
        clock.now += 5
        #expect(try Self.drain(g) == ["two.access.log:2a", "two.access.log:2b"])
        #expect(made.value.map { (($0.0 as NSString).lastPathComponent, $0.1) }.elementsEqual(
            [("one.access.log", false), ("two.access.log", true)], by: ==))
        clock.now += 5
        #expect(try Self.drain(g) == [])
        #expect(made.value.count == 2, "a known file is not followed twice")
    }

    @Test("stop ends a wait at once")
    func stop() throws {
        let dir = FollowTempDir()
        dir.write("a.log", "")
        let g = try FollowerGroup(paths: [dir.file("a.log")]) { live, _ in
            var o = FileFollower.Options()
            o.from = .beginning
            return FileFollower(path: live, store: nil, options: o)
        }
        let started = Date()
        DispatchQueue.global().async { g.stop() }
        #expect(try g.next(timeout: 30) == nil)
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
