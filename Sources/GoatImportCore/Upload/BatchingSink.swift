/// Collects encoded hits into batches and hands full ones to the uploader's queue.
public final class BatchingSink: FollowingSink {
    public let batchSize: Int
    public let noSessions: Bool
    private let queue: BatchQueue
    private var current: Batch?

    public init(queue: BatchQueue, batchSize: Int = 500, noSessions: Bool = false) {
        self.queue = queue
        self.batchSize = max(1, min(batchSize, 500))
        self.noSessions = noSessions
    }

    /// The open batch for `input`; a batch never spans inputs, so another input's batch is shipped first.
    private func batch(for input: Int) throws -> Batch {
        if let current {
            if current.input == input { return current }
            try ship(final: false)
        }
        let batch = Batch(input: input, noSessions: noSessions)
        current = batch
        return batch
    }

    /// The checkpoint after the line being processed: it goes with the batch that takes the
    /// line (hit or skip), before that batch can ship because it is full.
    private var pendingCheckpoint: Checkpoint?

    public func note(checkpoint: Checkpoint) {
        pendingCheckpoint = checkpoint
    }

    /// Moves the open batch's progress to a line that went elsewhere (another site's, or
    /// skipped): once acknowledged, this site has everything up to it.
    public func advance(to position: LinePosition, checkpoint: Checkpoint?) throws {
        let batch = try batch(for: position.input)
        batch.didSkip(position)
        if let checkpoint { batch.checkpoint = checkpoint }
    }

    /// The importer encodes straight into the batch body, after the separating comma.
    public func bufferForNextHit(at position: LinePosition) throws -> ByteBuffer {
        let batch = try batch(for: position.input)
        batch.willAppendHit()
        return batch.body
    }

    public func didEncodeHit(at position: LinePosition) throws {
        let batch = try batch(for: position.input)
        batch.didAppendHit(position)
        if let pendingCheckpoint { batch.checkpoint = pendingCheckpoint }
        if batch.hitCount >= batchSize { try ship(final: false) }
    }

    public func didSkipLine(at position: LinePosition, reason: SkipReason) throws {
        let batch = try batch(for: position.input)
        batch.didSkip(position)
        if let pendingCheckpoint { batch.checkpoint = pendingCheckpoint }
    }

    public func didFinishInput(_ input: Int) throws {
        if current == nil { current = Batch(input: input, noSessions: noSessions) }
        try ship(final: true)
    }

    public func flush() throws {
        if let current, current.hitCount > 0 || current.lastPosition != nil { try ship(final: false) }
    }

    public func finish() throws {
        queue.close()
    }

    private func ship(final: Bool) throws {
        guard let batch = current else { return }
        current = nil
        batch.isFinal = final
        batch.close()
        try queue.put(batch)
    }
}
