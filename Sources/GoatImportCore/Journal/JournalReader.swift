import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// Which journal to read and which of its entries: journalctl's own vocabulary.
public struct JournalSelection: Sendable, Equatable {
    /// `--journal-file`: these files (their rotated and archived siblings are not implied).
    public var files: [String] = []
    /// `--journal-directory`: every journal file in it.
    public var directory: String?
    /// `--unit` (`_SYSTEMD_UNIT=`) and `--identifier` (`SYSLOG_IDENTIFIER=`); any of them.
    public var units: [String] = []
    public var identifiers: [String] = []

    public init(files: [String] = [], directory: String? = nil, units: [String] = [], identifiers: [String] = []) {
        self.files = files
        self.directory = directory
        self.units = units
        self.identifiers = identifiers
    }

    /// The state file's key for this selection's cursor: the same journal and entries resume
    /// from the same place, another selection starts on its own.
    public var key: String {
        var parts = directory.map { ["directory=" + $0] } ?? (files.isEmpty ? ["system"] : files.map { "file=" + $0 })
        parts += units.map { "unit=" + $0 } + identifiers.map { "identifier=" + $0 }
        return "journal:" + parts.joined(separator: ";")
    }

    /// A unit name as journalctl completes it: `caddy` is `caddy.service`.
    static func unitName(_ name: String) -> String { name.contains(".") ? name : name + ".service" }
}

public struct JournalError: Error, CustomStringConvertible {
    public let description: String
    init(_ call: String, _ result: Int32, _ what: String) {
        description = "\(what): \(call) failed: \(String(cString: strerror(-result)))"
    }
}

/// Reads journal entries through libsystemd: each entry's MESSAGE, its priority, and the
/// cursor that names it (the checkpoint).
public final class JournalReader {
    public let selection: JournalSelection
    private var j: OpaquePointer?
    private var standing = false

    public init(_ selection: JournalSelection) throws {
        self.selection = selection
        var journal: OpaquePointer?
        let r: Int32
        if let dir = selection.directory {
            r = sd_journal_open_directory(&journal, dir, 0)
        } else if !selection.files.isEmpty {
            var cPaths: [UnsafePointer<CChar>?] = selection.files.map { UnsafePointer(strdup($0)) } + [nil]
            defer { for p in cPaths { free(UnsafeMutablePointer(mutating: p)) } }
            r = cPaths.withUnsafeMutableBufferPointer { sd_journal_open_files(&journal, $0.baseAddress, 0) }
        } else {
            r = sd_journal_open(&journal, Int32(SD_JOURNAL_LOCAL_ONLY))
        }
        if r < 0 { throw JournalError("sd_journal_open", r, selection.directory ?? selection.files.first ?? "the system journal") }
        j = journal
        // Whole messages: a long request line must not be cut at libsystemd's default 64 KiB.
        _ = sd_journal_set_data_threshold(j, 0)
        let matches = selection.units.map { "_SYSTEMD_UNIT=" + JournalSelection.unitName($0) } + selection.identifiers.map { "SYSLOG_IDENTIFIER=" + $0 }
        for (i, match) in matches.enumerated() {
            if i > 0 { _ = sd_journal_add_disjunction(j) }
            let r = match.withCString { sd_journal_add_match(j, $0, 0) }
            if r < 0 { throw JournalError("sd_journal_add_match", r, match) }
        }
    }

    deinit { sd_journal_close(j) }

    /// Positions the reader just after the entry `cursor` names, or at the first entry. An
    /// entry vacuumed since is no obstacle: reading resumes at the first entry after its time.
    public func seek(after cursor: String?) throws {
        guard let cursor, let realtime = Self.realtime(of: cursor) else {
            let r = sd_journal_seek_head(j)
            if r < 0 { throw JournalError("sd_journal_seek_head", r, "journal") }
            return
        }
        let r = sd_journal_seek_cursor(j, cursor)
        if r < 0 { throw JournalError("sd_journal_seek_cursor", r, cursor) }
        while sd_journal_next(j) > 0 {
            if sd_journal_test_cursor(j, cursor) > 0 { return }
            var t: UInt64 = 0
            guard sd_journal_get_realtime_usec(j, &t) >= 0, t < realtime else {
                // The first entry after the checkpoint: the reader stands on it, so the next
                // `next()` must not move (stepping back would not work at the journal's head).
                standing = true
                return
            }
        }
    }

    /// The realtime stamp (`t=`, µs, hex) in a cursor.
    static func realtime(of cursor: String) -> UInt64? {
        for field in cursor.split(separator: ";") where field.hasPrefix("t=") { return UInt64(field.dropFirst(2), radix: 16) }
        return nil
    }

    /// Moves to the next entry; false at the end (for now).
    public func next() throws -> Bool {
        if standing { standing = false; return true }
        let r = sd_journal_next(j)
        if r < 0 { throw JournalError("sd_journal_next", r, "journal") }
        return r > 0
    }

    /// The current entry's MESSAGE (without `MESSAGE=`), valid until the next call; nil when it has none.
    public func message() -> UnsafeBufferPointer<UInt8>? { field("MESSAGE=") }

    /// The current entry's syslog priority (0 emerg … 7 debug); 6 (info) when absent.
    public func priority() -> Int {
        guard let p = field("PRIORITY="), p.count == 1, p[0] >= 0x30, p[0] <= 0x37 else { return 6 }
        return Int(p[0] - 0x30)
    }

    private func field(_ name: StaticString) -> UnsafeBufferPointer<UInt8>? {
        var data: UnsafeRawPointer?
        var length = 0
        let prefix = name.utf8CodeUnitCount
        let r = name.withUTF8Buffer { n in
            // The name without its `=`, NUL-terminated.
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: prefix) { buf -> Int32 in
                for k in 0..<prefix - 1 { buf[k] = CChar(bitPattern: n[k]) }
                buf[prefix - 1] = 0
                return sd_journal_get_data(j, buf.baseAddress!, &data, &length)
            }
        }
        guard r >= 0, let data, length >= prefix else { return nil }
        return UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self) + prefix, count: length - prefix)
    }

    /// Appends the current entry's cursor to each table under `sequence`.
    public func recordCursor(_ sequence: Int, in tables: [CursorTable]) {
        var cursor: UnsafeMutablePointer<CChar>?
        guard sd_journal_get_cursor(j, &cursor) >= 0, let cursor else { return }
        for table in tables { table.append(sequence, cursor) }
        free(cursor)
    }

    /// Whether the current entry is `cursor`'s, or later (an entry vacuumed since is passed by
    /// time, as `seek` does): nil while it comes before.
    public func reached(_ cursor: String) -> (at: Bool, past: Bool)? {
        if sd_journal_test_cursor(j, cursor) > 0 { return (true, false) }
        var t: UInt64 = 0
        guard let realtime = Self.realtime(of: cursor), sd_journal_get_realtime_usec(j, &t) >= 0, t <= realtime else {
            return (false, true)
        }
        return nil
    }

    /// The cursor to resume after when several sites each acknowledged their own: the oldest
    /// (nil, the journal's head, when one site has none yet).
    public static func oldest(_ cursors: [String?]) -> String? {
        guard !cursors.isEmpty, !cursors.contains(where: { $0 == nil }) else { return nil }
        return cursors.compactMap { $0 }.min { (realtime(of: $0) ?? 0) < (realtime(of: $1) ?? 0) }
    }

    /// Waits up to `seconds` for the journal to change (new entries, a new file).
    public func wait(seconds: Double) {
        _ = sd_journal_wait(j, UInt64(seconds * 1e6))
    }
}
