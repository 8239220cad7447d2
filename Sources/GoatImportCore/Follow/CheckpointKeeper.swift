import Foundation

/// Checkpoints for a one-shot or timer run: where each input starts, and moving each file's
/// checkpoint as the server acknowledges its batches, in order.
///
/// A file is known by its fingerprint, so `access.log` checkpointed yesterday is resumed today
/// as `access.log.1` or `access.log.1.gz`. Before resuming, the bytes just before the saved
/// offset are compared with the saved tail hash: a copytruncate or a reused inode restarts that
/// file at 0 instead of skipping lines. The store is saved after every acknowledgement (temp
/// file, fsync, rename, fsync of the directory), so a crash resends at most the batch in flight.
public final class CheckpointKeeper {
    public let store: CheckpointStore
    public let inputs: [String]
    /// Inputs with an identity; stdin and files without a complete first line have none.
    public private(set) var identities: [Int: FileFingerprint] = [:]
    public private(set) var compressed: Set<Int> = []
    public private(set) var notes: [String] = []

    public init(store: CheckpointStore, inputs: [String]) throws {
        self.store = store
        self.inputs = inputs
        for (index, path) in inputs.enumerated() where path != "-" {
            // Without a complete first line there is nothing to send yet, and no identity:
            // such a file is read (it yields no line) but not checkpointed.
            guard let fingerprint = try FileFingerprint.compute(path: path) else { continue }
            identities[index] = fingerprint
            if try InputOpener.open(path: path) is GzipSource { compressed.insert(index) }
        }
    }

    /// Start offsets for the importer; a failed tail check restarts a file at 0.
    public func startPositions() throws -> [Int: (offset: Int64, line: Int)] {
        var result: [Int: (offset: Int64, line: Int)] = [:]
        for (index, fingerprint) in identities {
            guard let checkpoint = store.checkpoint(for: fingerprint), checkpoint.offset > 0 else { continue }
            if !checkpoint.tail.isEmpty {
                let tail = try TailCheck.hash(path: inputs[index], before: checkpoint.offset)
                if tail != checkpoint.tail {
                    notes.append("\(inputs[index]): its content before the saved offset changed (truncated or replaced); reading it from the start")
                    continue
                }
            }
            result[index] = (checkpoint.offset, checkpoint.line)
        }
        return result
    }

    /// The server acknowledged `position` and everything before it in that input.
    public func acknowledged(_ position: LinePosition) throws {
        guard let fingerprint = identities[position.input] else { return }
        let path = inputs[position.input]
        // The tail is checked for plain files; a .gz is rotated and immutable, and hashing its
        // tail would mean decompressing it from the start at every acknowledgement.
        let tail = compressed.contains(position.input) ? "" : (try TailCheck.hash(path: path, before: position.endOffset) ?? "")
        store.update(Checkpoint(fingerprint: fingerprint, offset: position.endOffset, tail: tail, line: position.line, path: path))
        try store.save()
    }
}
