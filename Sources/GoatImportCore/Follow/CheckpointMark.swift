/// Where a checkpoint after a line goes: the open file it was read from, the line and its
/// end. Cheap to take for every line (the batch that takes the line keeps the mark of its last
/// one in each file); the `Checkpoint`, with its tail hash, is made once, for the line a batch
/// ends on in a file, on the reading thread (see `Batch.cover(_:)`).
public struct CheckpointMark {
    let source: CheckpointSource
    public let identity: FileFingerprint
    public let offset: Int64
    public let line: Int

    /// Whether both marks are in the same file, as read this time (a file read again from its
    /// start after a copytruncate is another reading).
    func isSameReading(as other: CheckpointMark) -> Bool { source === other.source }

    public func checkpoint() -> Checkpoint {
        source.checkpoint(identity: identity, offset: offset, line: line)
    }
}

/// An open file being read, which makes the checkpoints after its lines: the follower's
/// reading of a file (`FileFollower.Reading`), or a one-shot run's (`CheckedInput`). The tail
/// hash comes from the bytes read when the reader has not read past the line yet, else from
/// the file's descriptor; never from a path, which may name another file by now.
protocol CheckpointSource: AnyObject {
    func checkpoint(identity: FileFingerprint, offset: Int64, line: Int) -> Checkpoint
}
