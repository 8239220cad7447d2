import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A rotated file to read before the live one, known by its identity. It is opened when its
/// turn comes, one at a time, so that years of rotated files stay within the descriptor limit;
/// a rotation or compression meanwhile is found by the identity (see `FileFollower`).
public struct CatchUpItem {
    public let path: String
    public let identity: FileFingerprint
    /// Decompressed offset to start at (verified against `tail` when reading starts; a
    /// mismatch reads the file from 0).
    public let startOffset: Int64
    public let startLine: Int
    public let tail: String
    /// Open already (a copytruncate's copy, found while reading); nil: opened at its turn.
    var file: LogFile?
}

/// The one-shot catch-up (timer mode, and follow mode's start): which rotated files still
/// have unread lines, oldest first.
public enum CatchUp {
    /// Rotated siblings of a live log in its directory (`access.log.1`, `access.log.2.gz`,
    /// `access.log-20261101.gz`), oldest first.
    public static func siblings(of livePath: String) -> [String] {
        let dir = FileWatcher.directory(of: livePath)
        let base = String(livePath[(livePath.lastIndex(of: "/").map { livePath.index(after: $0) } ?? livePath.startIndex)...])
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        let prefix = livePath.contains("/") ? (dir == "/" ? "/" : dir + "/") : ""
        let rotated = names.filter { name in
            name != base && (name.hasPrefix(base + ".") || name.hasPrefix(base + "-")) && InputOrder.key(name).base == base
        }.map { prefix + $0 }
        return InputOrder.sorted(rotated)
    }

    /// The rotated files to read, oldest first, each from where the last run stopped.
    ///
    /// - A file whose identity has a checkpoint resumes there (decompressing and skipping for
    ///   gzip); one read to its end is skipped (plain: size equals the offset, the tail
    ///   matches and it has not been modified for `settled` seconds, since a server that has
    ///   not reopened its logs yet still writes to it; gzip: the trailer's size equals the
    ///   offset mod 2^32).
    /// - A file without checkpoint is read from 0, except on a first run (the state has no
    ///   entry for the live path or any sibling) with `from: .end`: then it is recorded as
    ///   `complete` in `store` and never read.
    /// - Copies with the same identity (`access.log.1` and `access.log.1.gz` while gzip runs)
    ///   are read once, the plain one preferred; a file with the live file's identity is left
    ///   to the follower.
    /// - Every identity seen is marked seen in `store`, so its entry is not pruned while the
    ///   file exists.
    /// - A file whose first line is not complete has no identity and is left out: a rotated
    ///   file the server had not written a whole line to when the follower stopped, and still
    ///   writes to, is not read.
    public static func plan(livePath: String, rotated: [String]? = nil, store: CheckpointStore,
                            from: FileFollower.StartPosition, now: Date = Date(),
                            settled: Double = 60) throws -> [CatchUpItem] {
        let paths = rotated ?? siblings(of: livePath)
        let firstRun = !store.hasEntry(forPath: livePath) && !paths.contains { store.hasEntry(forPath: $0) }
        let liveID = (try? LogFile(path: livePath)).flatMap { try? $0.fingerprint() }
        var items: [CatchUpItem] = []
        var seen: [FileFingerprint: (index: Int?, gzip: Bool)] = [:]
        for path in paths {
            guard let file = try? LogFile(path: path) else { continue }   // vanished meanwhile
            // A gzip file still being written fails here; its plain twin is read instead.
            guard let id = (try? file.fingerprint()) ?? nil, id != liveID else { continue }
            store.markSeen(id, at: now)
            if let previous = seen[id] {
                guard previous.gzip, !file.isGzip else { continue }
                let item = try decide(file: file, id: id, store: store, firstRun: firstRun, from: from, now: now, settled: settled)
                if let index = previous.index {
                    if let item { items[index] = item } else { items.remove(at: index); reindex(&seen, after: index) }
                }
                seen[id] = (previous.index, false)
                continue
            }
            if let item = try decide(file: file, id: id, store: store, firstRun: firstRun, from: from, now: now, settled: settled) {
                seen[id] = (items.count, file.isGzip)
                items.append(item)
            } else {
                seen[id] = (nil, file.isGzip)
            }
        }
        return items
    }

    private static func reindex(_ seen: inout [FileFingerprint: (index: Int?, gzip: Bool)], after removed: Int) {
        for (k, v) in seen {
            if let i = v.index {
                if i == removed { seen[k] = (nil, v.gzip) } else if i > removed { seen[k] = (i - 1, v.gzip) }
            }
        }
    }

    private static func decide(file: LogFile, id: FileFingerprint, store: CheckpointStore, firstRun: Bool,
                               from: FileFollower.StartPosition, now: Date, settled: Double) throws -> CatchUpItem? {
        if let cp = try file.checkpoint(in: store) {
            if cp.complete { return nil }
            if file.isGzip {
                if file.gzipEnds(at: cp.offset) { return nil }
            } else if file.size() == cp.offset, file.secondsSinceModified() > settled,
                      try file.verifiedTail(cp.tail, before: cp.offset) != nil {
                // Read to its end, and not written to lately: the server has reopened its logs.
                // (A recently written one is read from its offset: the server may still be
                // writing to it after a rename.)
                return nil
            }
            return CatchUpItem(path: file.path, identity: id, startOffset: cp.offset, startLine: cp.line, tail: cp.tail)
        }
        if firstRun && from == .end {
            store.update(Checkpoint(fingerprint: id, offset: 0, tail: "", line: 0, path: file.path,
                                    updated: now, complete: true))
            return nil
        }
        return CatchUpItem(path: file.path, identity: id, startOffset: 0, startLine: 0, tail: "")
    }
}
