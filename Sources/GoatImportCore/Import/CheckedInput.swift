#if canImport(Glibc)
import Glibc
#endif

/// A file of a one-shot run that keeps checkpoints, opened once, when its turn comes. From that
/// one descriptor come its identity, where it resumes, its lines, and the tail hash of every
/// checkpoint after them: a rotation during the run renames the file under the descriptor, and
/// nothing opens the path again. Only the files that a batch not yet closed covers stay open,
/// so a run over thousands of small files (CloudFront, S3) stays far below the descriptor limit.
final class CheckedInput: CheckpointSource {
    let file: LogFile
    let identity: FileFingerprint
    /// Where reading starts: after the stored checkpoint, or at 0 (none, or its bytes changed).
    private(set) var start: (offset: Int64, line: Int) = (0, 0)
    /// With a site map: each site's own offset (see `Importer.siteStarts`).
    private(set) var siteStarts: [Int64]?
    /// Why a stored checkpoint was not used.
    private(set) var note: String?
    /// A compressed file read to its end in an earlier run: nothing to read, and nothing to
    /// decompress (a timer's glob meets every rotated .gz again at every run).
    private(set) var isComplete = false

    /// nil for what is read unchecked: a stream, or a file without an identity (no complete
    /// request line yet).
    static func open(_ path: String, store: CheckpointStore, sites: [String]) throws -> CheckedInput? {
        guard !StreamInputs.isStream(path), LogFile.isRegularFile(path) else { return nil }
        let file = try LogFile(path: path)
        file.finished = !InputOrder.isLive(path)
        guard let ids = try file.identities() else { return nil }
        return try CheckedInput(file: file, identity: ids.current,
                                checkpoint: store.checkpoint(for: ids.current, legacy: ids.legacy), sites: sites)
    }

    private init(file: LogFile, identity: FileFingerprint, checkpoint: Checkpoint?, sites: [String]) throws {
        self.file = file
        self.identity = identity
        guard let checkpoint else { return }
        if checkpoint.offset > 0 && file.gzipEnds(at: checkpoint.offset) {
            start = (checkpoint.offset, checkpoint.line)
            isComplete = true
            return
        }
        if checkpoint.offset > 0 {
            guard try file.resumes(at: checkpoint.offset, tail: checkpoint.tail) else {
                note = "\(file.path): its content before the saved offset changed (truncated or replaced); reading it from the start"
                return
            }
            start = (checkpoint.offset, checkpoint.line)
        }
        if !sites.isEmpty { siteStarts = try checkpoint.siteStarts(sites) { try file.resumes(at: $0, tail: $1) } }
    }

    /// A server may still be writing it: a last line without its newline waits for the next run.
    var isLive: Bool { !file.finished }

    /// The file's bytes, decompressed, from its start.
    func source() -> ByteSource {
        // The whole file is read once from start to end.
        _ = posix_fadvise(file.fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        return file.stream()
    }

    @inline(__always)
    func mark(after line: Int, at offset: Int64) -> CheckpointMark {
        CheckpointMark(source: self, identity: identity, offset: offset, line: line)
    }

    /// The tail is hashed for plain files; a .gz is rotated and immutable, and hashing its tail
    /// would mean decompressing it from the start.
    func checkpoint(identity: FileFingerprint, offset: Int64, line: Int) -> Checkpoint {
        let tail = file.isGzip ? "" : ((try? file.tailHash(before: offset)) ?? nil) ?? ""
        return Checkpoint(fingerprint: identity, offset: offset, tail: tail, line: line, path: file.path)
    }
}
