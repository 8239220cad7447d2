import Foundation

/// Under systemd, stderr goes to the journal line by line; a `<N>` prefix (sd-daemon(3))
/// gives each line its syslog priority, so `journalctl -p warning` shows what went wrong.
/// Only when stderr really is the journal's stream (`$JOURNAL_STREAM` names its device and
/// inode): a terminal or a file must not get the prefixes.
enum JournalPriority {
    static let err = 3, warning = 4, notice = 5, info = 6

    static let isJournal: Bool = {
        guard let value = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        var st = stat()
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]),
              fstat(STDERR_FILENO, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }()

    /// err (3) for errors, warning (4) for warnings and hits the server refused, info (6) else.
    static func priority(of line: Substring) -> Int {
        if line.hasPrefix("goatimport: error") || line.hasPrefix("error:") || line.hasPrefix("Error:") { return 3 }
        if line.contains("warning:") || line.contains("the server rejected the hit") { return 4 }
        return 6
    }

    /// `message` with each line prefixed, when stderr is the journal.
    static func mark(_ message: String, priority fixed: Int? = nil) -> String {
        guard isJournal else { return message }
        return message.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "<\(fixed ?? priority(of: $0))>" + $0 }.joined(separator: "\n")
    }
}
