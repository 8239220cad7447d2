/// Collects encoded hits into batches and hands full ones to the uploader's queue. Batches run
/// on across inputs; the last one ships when the import finishes (or the log goes quiet).
public final class BatchingSink: FollowingSink {
    public let batchSize: Int
    public let noSessions: Bool
    private let queue: BatchQueue
    private var current: Batch?
    /// Where the checkpoint after the line being processed goes: with the batch that takes the
    /// line (hit or skip), before that batch can ship because it is full.
    private var pendingMark: CheckpointMark?

    public init(queue: BatchQueue, batchSize: Int = 500, noSessions: Bool = false) {
        self.queue = queue
        self.batchSize = max(1, min(batchSize, 500))
        self.noSessions = noSessions
    }

    private var batch: Batch {
        if let current { return current }
        let batch = Batch(noSessions: noSessions)
        current = batch
        return batch
    }

    public func note(mark: CheckpointMark) {
        pendingMark = mark
    }

    /// Moves the open batch's progress to a line that went elsewhere (another site's, or
    /// skipped): once acknowledged, this site has everything up to it.
    public func advance(to position: LinePosition, mark: CheckpointMark?) throws {
        batch.cover(position)
        if let mark { batch.cover(mark) }
    }

    /// The importer encodes straight into the batch body, after the separating comma.
    public func bufferForNextHit(at position: LinePosition) throws -> ByteBuffer {
        let batch = self.batch
        batch.willAppendHit()
        return batch.body
    }

    public func didEncodeHit(at position: LinePosition) throws {
        let batch = self.batch
        batch.didAppendHit(position)
        if let pendingMark { batch.cover(pendingMark) }
        if batch.hitCount >= batchSize { try ship() }
    }

    public func didSkipLine(at position: LinePosition, reason: SkipReason) throws {
        let batch = self.batch
        batch.cover(position)
        if let pendingMark { batch.cover(pendingMark) }
    }

    public func flush() throws {
        if let current, !current.isEmpty { try ship() }
    }

    public func finish() throws {
        try flush()
        queue.close()
    }

    private func ship() throws {
        guard let batch = current else { return }
        current = nil
        batch.close()
        try queue.put(batch)
    }
}
