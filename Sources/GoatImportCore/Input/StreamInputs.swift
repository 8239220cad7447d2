import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Inputs that can be read only once: standard input (`-`), FIFOs, process substitutions (`<(…)`,
/// a pipe under /dev/fd). Each is opened once, here, and kept open: opening a FIFO again waits for
/// a writer that has gone, and its writer dies once no reader is left. What format detection read
/// from one is read again first by the import.
public final class StreamInputs: @unchecked Sendable {
    public static let shared = StreamInputs()

    private final class Entry {
        let file: FileSource
        /// Set while format detection may still read: its bytes go to the import first.
        var recorder: RecordingSource?
        init(file: FileSource, recorder: RecordingSource?) {
            self.file = file
            self.recorder = recorder
        }
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    /// Whether `path` is read once (not a regular file, a directory or a missing path).
    public static func isStream(_ path: String) -> Bool {
        if path == "-" { return true }
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        return type != S_IFREG && type != S_IFDIR
    }

    /// The stream for format detection (or a readability check): what is read is kept.
    public func sampling(_ path: String) throws -> ByteSource {
        try locked {
            if let entry = entries[path] { return entry.recorder ?? entry.file }
            let recorder = RecordingSource(inner: try FileSource(path: path))
            entries[path] = Entry(file: recorder.inner as! FileSource, recorder: recorder)
            return recorder
        }
    }

    /// The stream for the import: what was sampled, then the rest. A second call gets the rest.
    public func reading(_ path: String) throws -> ByteSource {
        try locked {
            if let entry = entries[path] {
                guard let recorder = entry.recorder else { return entry.file }
                entry.recorder = nil
                return PrefixedSource(prefix: recorder.bytes, inner: entry.file)
            }
            let file = try FileSource(path: path)
            entries[path] = Entry(file: file, recorder: nil)
            return file
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
