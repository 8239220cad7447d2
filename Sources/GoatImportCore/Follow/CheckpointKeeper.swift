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
    /// Each checkpointed input, open: its tail is hashed from the descriptor, not the path.
    private var files: [Int: LogFile] = [:]
    public private(set) var notes: [String] = []
    /// With a site map: the site URLs, each with progress of its own in every file's checkpoint.
    public let sites: [String]
    /// Per resumed input, each site's own offset (for `Importer.Options.siteStarts`).
    public private(set) var siteStarts: [Int: [Int64]] = [:]

    public init(store: CheckpointStore, inputs: [String], sites: [String] = []) throws {
        self.store = store
        self.inputs = inputs
        self.sites = sites
        for (index, path) in inputs.enumerated() where path != "-" {
            // A stream (FIFO, process substitution) is read once, by the import, unchecked.
            guard LogFile.isRegularFile(path) else { continue }
            let file = try LogFile(path: path)
            file.finished = !InputOrder.isLive(path)
            // (Without a complete request line it has no identity: the caller leaves it out.)
            guard let fingerprint = try file.fingerprint() else { continue }
            identities[index] = fingerprint
            files[index] = file
        }
    }

    /// Start offsets for the importer; a failed tail check restarts a file at 0.
    public func startPositions() throws -> [Int: (offset: Int64, line: Int)] {
        var result: [Int: (offset: Int64, line: Int)] = [:]
        for (index, file) in files {
            guard let checkpoint = try file.checkpoint(in: store) else { continue }
            if checkpoint.offset > 0 {
                guard try tailMatches(index, checkpoint.offset, checkpoint.tail) else {
                    notes.append("\(inputs[index]): its content before the saved offset changed (truncated or replaced); reading it from the start")
                    continue
                }
                result[index] = (checkpoint.offset, checkpoint.line)
            }
            if !sites.isEmpty {
                // A site ahead of the file's offset keeps its own progress only if the bytes
                // before it are still those it acknowledged.
                siteStarts[index] = try sites.map { site in
                    guard let own = checkpoint.sites[site], own.offset > checkpoint.offset,
                          try tailMatches(index, own.offset, own.tail) else { return checkpoint.offset }
                    return own.offset
                }
            }
        }
        return result
    }

    private func tailMatches(_ index: Int, _ offset: Int64, _ tail: String) throws -> Bool {
        if tail.isEmpty { return true }
        return try files[index]?.tailHash(before: offset) == tail
    }

    /// The server acknowledged a batch: in each input it covers, everything up to its position
    /// there (with a site map: everything of site `site`'s). Saved once.
    public func acknowledged(_ positions: [LinePosition], site: Int = 0) throws {
        for position in positions { try record(position, site: site) }
        try store.save()
    }

    private func record(_ position: LinePosition, site: Int) throws {
        guard let fingerprint = identities[position.input], let file = files[position.input] else { return }
        let path = inputs[position.input]
        // The tail is checked for plain files; a .gz is rotated and immutable, and hashing its
        // tail would mean decompressing it from the start at every acknowledgement.
        let tail = file.isGzip ? "" : (try file.tailHash(before: position.endOffset) ?? "")
        let checkpoint = Checkpoint(fingerprint: fingerprint, offset: position.endOffset, tail: tail, line: position.line, path: path)
        if sites.isEmpty { store.update(checkpoint) } else { store.update(checkpoint, site: sites[site], of: sites) }
    }
}
