import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How far one file (by identity) has been read and acknowledged.
public struct Checkpoint: Codable, Equatable, Sendable {
    /// The file's identity (`FileFingerprint`): survives renames and compression.
    public var fingerprint: FileFingerprint
    /// Offset in the decompressed stream just past the last acknowledged line.
    public var offset: Int64
    /// `TailCheck` hash of the ≤64 bytes before `offset`; verified on resume.
    public var tail: String
    /// Line number of the last acknowledged line (1-based; relative to where reading
    /// started when a file was first read from its end).
    public var line: Int
    /// The path the file was read under last (informational: identity is the fingerprint).
    public var path: String
    /// When `offset` last changed.
    public var updated: Date
    /// When the file was last seen on disk; entries unseen for `CheckpointStore.pruneAfter`
    /// are dropped on save.
    public var seen: Date
    /// Set for files deliberately skipped (first run with `from: .end`): never read them.
    public var complete: Bool
    /// With a site map: how far each site (by URL) has acknowledged. `offset` is then the least
    /// advanced site's, where a rerun starts; each site skips the hits it already has.
    public var sites: [String: SiteProgress] = [:]

    public struct SiteProgress: Codable, Equatable, Sendable {
        public var offset: Int64
        public var line: Int
        public var tail: String
        public init(offset: Int64, line: Int, tail: String) {
            self.offset = offset
            self.line = line
            self.tail = tail
        }
    }

    public init(fingerprint: FileFingerprint, offset: Int64, tail: String, line: Int, path: String,
                updated: Date = Date(), seen: Date? = nil, complete: Bool = false) {
        self.fingerprint = fingerprint
        self.offset = offset
        self.tail = tail
        self.line = line
        self.path = path
        self.updated = updated
        self.seen = seen ?? updated
        self.complete = complete
    }

    enum CodingKeys: String, CodingKey { case fingerprint, offset, tail, line, path, updated, seen, complete, sites }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fingerprint = try c.decode(FileFingerprint.self, forKey: .fingerprint)
        offset = try c.decode(Int64.self, forKey: .offset)
        tail = try c.decode(String.self, forKey: .tail)
        line = try c.decodeIfPresent(Int.self, forKey: .line) ?? 0
        path = try c.decodeIfPresent(String.self, forKey: .path) ?? ""
        updated = try c.decode(Date.self, forKey: .updated)
        seen = try c.decodeIfPresent(Date.self, forKey: .seen) ?? updated
        complete = try c.decodeIfPresent(Bool.self, forKey: .complete) ?? false
        sites = try c.decodeIfPresent([String: SiteProgress].self, forKey: .sites) ?? [:]
        guard offset >= 0, !sites.values.contains(where: { $0.offset < 0 }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "negative offset"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(offset, forKey: .offset)
        try c.encode(tail, forKey: .tail)
        try c.encode(line, forKey: .line)
        try c.encode(path, forKey: .path)
        try c.encode(updated, forKey: .updated)
        try c.encode(seen, forKey: .seen)
        if complete { try c.encode(true, forKey: .complete) }
        if !sites.isEmpty { try c.encode(sites, forKey: .sites) }
    }
}

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case corrupt(path: String, reason: String)
    case unsupportedVersion(path: String, version: Int)
    case locked(path: String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .corrupt(let path, let reason):
            return "\(path): state file is corrupt (\(reason)); refusing to start over from the beginning of every log. "
                + "Fix or remove the file to re-import from scratch."
        case .unsupportedVersion(let path, let version):
            return "\(path): state file has version \(version), which this goatimport does not understand"
        case .locked(let path):
            return "\(path): another goatimport run holds the lock on this state file"
        case .system(let error):
            return error.description
        }
    }
}

/// The state file: where each log file (by identity) has been read up to.
///
/// Format (JSON, one object; unknown keys are ignored, missing optional keys defaulted):
///
///     {
///       "version": 1,
///       "files": [
///         {
///           "fingerprint": "9c1d8e2f0a3b4c5d",   // FileFingerprint: FNV-1a 64 of the first line, hex
///           "offset": 12345,                      // decompressed offset past the last acknowledged line
///           "tail": "0f1e2d3c4b5a6978",           // TailCheck hash of the ≤64 bytes before offset
///           "line": 678,                          // line number of that line
///           "path": "/var/log/nginx/access.log",  // where it was read (informational)
///           "updated": "2026-11-27T15:04:05Z",    // RFC 3339, when offset last changed
///           "seen": "2026-11-27T15:04:05Z",       // RFC 3339, when the file was last seen on disk
///           "complete": true,                     // optional: skipped on purpose, never read
///           "sites": {                            // optional, with --site-map: each site's own
///             "https://a.goatcounter.com": {"offset": 23456, "line": 1234, "tail": "…"}
///           }                                     // progress; "offset" above is the least of them
///         }
///       ]
///     }
///
/// Saving is atomic (temporary file 0600 in the same directory, fsync, rename, fsync of the
/// directory), so a crash leaves either the old or the new state, never a torn one. A file
/// that cannot be parsed is an error naming the path: silently starting from 0 would import
/// every pageview twice. Thread-safe: the follower reads it while uploaders (one per site)
/// record acknowledgements.
public final class CheckpointStore: @unchecked Sendable {
    public static let version = 1
    /// Entries not seen (on disk) nor updated for this long are dropped on save.
    public var pruneAfter: TimeInterval = 30 * 24 * 3600

    public let path: String
    /// fsync on save (the file and the directory). Tests may turn it off for speed.
    public var durable: Bool
    private var entries: [FileFingerprint: Checkpoint] = [:]
    private var journalCursors: [String: String] = [:]
    private var lockFD: Int32 = -1
    private let mutex = NSLock()
    /// Held for a whole save, so that the last rename carries the latest state.
    private let saving = NSLock()

    /// The default state file: `$STATE_DIRECTORY/state.json` (systemd's StateDirectory=),
    /// else `$XDG_STATE_HOME/goatimport/state.json`, else `~/.local/state/goatimport/state.json`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["STATE_DIRECTORY"], !dir.isEmpty {
            // systemd may pass several colon-separated directories; the first is ours.
            let first = dir.split(separator: ":").first.map(String.init) ?? dir
            return first + "/state.json"
        }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            return xdg + "/goatimport/state.json"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/state/goatimport/state.json"
    }

    /// Opens the state at `path`, creating missing parent directories (0700). An existing file
    /// is loaded; a missing one is an empty state (nothing is written until `save`).
    public init(path: String, durable: Bool = true) throws {
        self.path = path
        self.durable = durable
        try Self.makeDirectories((path as NSString).deletingLastPathComponent)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw CheckpointError.system(SystemError(errno: errno, context: path))
        }
        let data: Data
        do {
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw CheckpointError.corrupt(path: path, reason: "cannot read it: \(error)")
        }
        try load(data)
    }

    deinit { if lockFD >= 0 { close(lockFD) } }

    private struct FileFormat: Codable {
        var version: Int
        var files: [Checkpoint]
        /// Journal cursors by `JournalSelection.key`; absent when no journal was read.
        var journals: [String: String]?
    }

    private struct VersionOnly: Decodable { var version: Int }

    private static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    private func load(_ data: Data) throws {
        let decoder = Self.decoder()
        let version: Int
        do { version = try decoder.decode(VersionOnly.self, from: data).version } catch {
            throw CheckpointError.corrupt(path: path, reason: Self.reason(error))
        }
        guard version == Self.version else { throw CheckpointError.unsupportedVersion(path: path, version: version) }
        do {
            let file = try decoder.decode(FileFormat.self, from: data)
            for c in file.files { entries[c.fingerprint] = c }
            journalCursors = file.journals ?? [:]
        } catch {
            throw CheckpointError.corrupt(path: path, reason: Self.reason(error))
        }
    }

    private static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let c): return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.valueNotFound(_, let c): return "null at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }

    // MARK: - Entries

    public var checkpoints: [Checkpoint] { locked { entries.values.sorted { $0.updated < $1.updated } } }

    public func checkpoint(for fingerprint: FileFingerprint) -> Checkpoint? { locked { entries[fingerprint] } }

    /// The checkpoint under `fingerprint`, else the one an older release stored under the
    /// file's `legacy` identity (its first line), given the new key; nil when neither exists.
    public func checkpoint(for fingerprint: FileFingerprint, legacy: FileFingerprint?) -> Checkpoint? {
        locked {
            if let entry = entries[fingerprint] { return entry }
            guard let legacy, legacy != fingerprint, var entry = entries[legacy] else { return nil }
            entry.fingerprint = fingerprint
            return entry
        }
    }

    /// Records progress in memory (call `save` to persist).
    public func update(_ checkpoint: Checkpoint) { locked { entries[checkpoint.fingerprint] = checkpoint } }

    /// With a site map: `site` has acknowledged everything of its own up to `checkpoint`. Sites
    /// with no progress of their own yet start from the file's previous offset; the file's
    /// offset becomes the least advanced of `sites`.
    public func update(_ checkpoint: Checkpoint, site: String, of sites: [String]) {
        locked {
            let previous = entries[checkpoint.fingerprint]
            let base = previous.map { Checkpoint.SiteProgress(offset: $0.offset, line: $0.line, tail: $0.tail) }
                ?? Checkpoint.SiteProgress(offset: 0, line: 0, tail: "")
            var progress: [String: Checkpoint.SiteProgress] = [:]
            for s in sites { progress[s] = previous?.sites[s] ?? base }
            progress[site] = Checkpoint.SiteProgress(offset: checkpoint.offset, line: checkpoint.line, tail: checkpoint.tail)
            let least = progress.values.min { $0.offset < $1.offset }!
            var entry = checkpoint
            entry.offset = least.offset
            entry.line = least.line
            entry.tail = least.tail
            entry.sites = progress
            if let previous, previous.offset == entry.offset { entry.updated = previous.updated }
            entries[checkpoint.fingerprint] = entry
        }
    }

    /// The server acknowledged a batch: each file it covers moves to the checkpoint after the
    /// batch's last line there (with a site map: that of `site`, one of `sites`), and the state
    /// is saved once. One path for every mode: one-shot, timer and follow.
    public func acknowledge(_ checkpoints: [Checkpoint], site: String? = nil, of sites: [String] = []) throws {
        guard !checkpoints.isEmpty else { return }
        for checkpoint in checkpoints {
            if let site { update(checkpoint, site: site, of: sites) } else { update(checkpoint) }
        }
        try save()
    }

    /// Records that a file is still on disk, so its entry is not pruned.
    public func markSeen(_ fingerprint: FileFingerprint, at date: Date = Date()) {
        locked { entries[fingerprint]?.seen = date }
    }

    public func remove(_ fingerprint: FileFingerprint) { locked { entries[fingerprint] = nil } }

    /// Whether any entry was read under `path` (used to tell a first run from a later one).
    public func hasEntry(forPath path: String) -> Bool { locked { entries.values.contains { $0.path == path } } }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        mutex.lock(); defer { mutex.unlock() }
        return try body()
    }

    // MARK: - Journals

    /// The cursor of the last journal entry acknowledged for a selection (`JournalSelection.key`).
    public func journalCursor(for key: String) -> String? { locked { journalCursors[key] } }

    public func updateJournal(cursor: String, for key: String) { locked { journalCursors[key] = cursor } }

    // MARK: - Saving

    /// Writes the state atomically, dropping entries not seen for `pruneAfter`.
    public func save(now: Date = Date()) throws {
        saving.lock(); defer { saving.unlock() }
        let cutoff = now.addingTimeInterval(-pruneAfter)
        let files = locked {
            entries = entries.filter { max($0.value.seen, $0.value.updated) >= cutoff }
            return entries.values.sorted { ($0.path, $0.updated) < ($1.path, $1.updated) }
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let journals = locked { journalCursors }
        var data = try encoder.encode(FileFormat(version: Self.version, files: files, journals: journals.isEmpty ? nil : journals))
        data.append(0x0A)

        do { try AtomicFile.write(data, to: path, durable: durable) } catch let error as SystemError {
            throw CheckpointError.system(error)
        }
    }

    // MARK: - Locking

    public var lockPath: String { path + ".lock" }

    /// Takes an exclusive lock on `<state>.lock` (flock, non-blocking) held until this store is
    /// released or the process exits; throws `.locked` when another run holds it.
    public func lock() throws {
        if lockFD >= 0 { return }
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw CheckpointError.system(SystemError(errno: errno, context: lockPath)) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == EINTR { continue }
            close(fd)
            if e == EWOULDBLOCK { throw CheckpointError.locked(path: lockPath) }
            throw CheckpointError.system(SystemError(errno: e, context: lockPath))
        }
        lockFD = fd
        let dir = (path as NSString).deletingLastPathComponent
        let beside = { (name: String) in dir.isEmpty ? name : dir + "/" + name }
        AtomicFile.removeStale(of: [path, beside(SessionTracker.visitsFileName), beside(SessionTracker.secretFileName)])
    }

    public func unlock() {
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }

    private static func makeDirectories(_ dir: String) throws {
        guard !dir.isEmpty else { return }
        var st = stat()
        if stat(dir, &st) == 0 { return }
        try makeDirectories((dir as NSString).deletingLastPathComponent)
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw CheckpointError.system(SystemError(errno: errno, context: dir))
        }
    }
}

extension Checkpoint {
    /// With a site map: where each of `sites` resumes in this file. A site ahead of the file's
    /// offset keeps its own progress only if the bytes before it are still those it
    /// acknowledged (`tailMatches(offset, tail)`); else it resumes with the file.
    func siteStarts(_ sites: [String], tailMatches: (Int64, String) throws -> Bool) rethrows -> [Int64] {
        try sites.map { site in
            guard let own = self.sites[site], own.offset > offset, try tailMatches(own.offset, own.tail) else { return offset }
            return own.offset
        }
    }
}
