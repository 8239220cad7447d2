import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `Importer.follow` reads from: one followed path or several.
public protocol LineFollowing: AnyObject {
    func next(timeout: Double) throws -> FileFollower.FollowedLine?
    func stop()
}

extension FileFollower: LineFollowing {}

/// Follows several live logs at once (`--follow` with several paths, or a glob such as
/// `/var/log/nginx/*.access.log`): one `FileFollower` per live path, and for a glob, files that
/// start to match later (a new virtual host's log) are followed from their first line.
///
/// Lines come one file at a time: a follower is read until it has nothing ready (or for
/// `maxRun` lines), then the next. Batches never span files, so interleaving line by line
/// would send one-hit batches.
public final class FollowerGroup: LineFollowing {
    public struct Options {
        /// How often globs are expanded again for new files.
        public var rescanInterval: Double = 5
        /// Lines read from one file before the others get a turn.
        public var maxRun = 50_000
        public var clock: () -> Double = FileFollower.monotonicSeconds
        public init() {}
    }

    /// Makes the follower of a live path; `isNew`: it appeared after the start (read it whole).
    public typealias Factory = (_ livePath: String, _ isNew: Bool) throws -> FileFollower

    public let patterns: [String]
    private let options: Options
    private let factory: Factory
    private(set) public var followed: [String] = []
    private var followers: [FileFollower] = []
    private var current = 0
    private var run = 0
    private var lastScan: Double
    /// Guards `stopped` and `followers`: `stop()` comes from a signal handler's thread while
    /// the parse thread adds the followers of newly matching files.
    private let stopLock = NSLock()
    private var stopped = false

    /// `paths`: live paths, rotated files (grouped with their live path, which the follower
    /// reads them with) and glob patterns (expanded now and every `rescanInterval`).
    public init(paths: [String], options: Options = Options(), factory: @escaping Factory) throws {
        self.options = options
        self.factory = factory
        patterns = paths.filter(Self.isPattern)
        lastScan = options.clock()
        for path in Self.livePaths(paths.filter { !Self.isPattern($0) } + patterns.flatMap(Self.expand)) {
            try add(path, isNew: false)
        }
    }

    public func stop() {
        stopLock.lock()
        stopped = true
        let all = followers
        stopLock.unlock()
        for follower in all { follower.stop() }
    }

    private var isStopped: Bool {
        stopLock.lock(); defer { stopLock.unlock() }
        return stopped
    }

    public func next(timeout: Double) throws -> FileFollower.FollowedLine? {
        // One clock read per call: a catch-up asks for a million lines in a row.
        var now = options.clock()
        let deadline = now + max(0, timeout)
        while true {
            if isStopped || followers.isEmpty && patterns.isEmpty { return nil }
            if now - lastScan >= options.rescanInterval { try rescan() }
            if !followers.isEmpty {
                if run < options.maxRun, let line = try followers[current].next(timeout: 0) {
                    run += 1
                    return line
                }
                // The current file has nothing ready: give the others a turn.
                for step in 1...followers.count {
                    let index = (current + step) % followers.count
                    if let line = try followers[index].next(timeout: 0) {
                        current = index
                        run = 1
                        return line
                    }
                }
                run = 0
            }
            now = options.clock()
            if now >= deadline { return nil }
            var sleep = min(deadline - now, lastScan + options.rescanInterval - now)
            for follower in followers { sleep = min(sleep, follower.longestSleep(now: now)) }
            wait(seconds: max(0, sleep))
            now = options.clock()
        }
    }

    private func add(_ path: String, isNew: Bool) throws {
        let follower = try factory(path, isNew)
        stopLock.lock()
        followers.append(follower)
        let stoppedMeanwhile = stopped
        stopLock.unlock()
        if stoppedMeanwhile { follower.stop() }
        followed.append(path)
    }

    private func rescan() throws {
        lastScan = options.clock()
        let known = Set(followed)
        for path in Self.livePaths(patterns.flatMap(Self.expand)) where !known.contains(path) {
            try add(path, isNew: true)
        }
    }

    /// Sleeps until any follower's file may have changed, or `seconds`.
    private func wait(seconds: Double) {
        var fds = followers.flatMap(\.wakeDescriptors).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let ms = Int32(min(seconds * 1000, Double(Int32.max)).rounded(.up))
        _ = poll(&fds, nfds_t(fds.count), ms)
    }

    public static func isPattern(_ path: String) -> Bool { path.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    /// The live path of each rotated set named (`access.log.2.gz access.log.1 access.log` →
    /// `access.log`), in the order first named.
    static func livePaths(_ paths: [String]) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for path in paths {
            let base = InputOrder.key(path).base
            if seen.insert(base).inserted { result.append(base) }
        }
        return result
    }

    public static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
    }
}
