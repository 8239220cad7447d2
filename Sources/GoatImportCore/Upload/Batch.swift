/// Up to `--batch-size` encoded hits and where they came from: the body of one count request.
///
/// A batch spans inputs (300 one-line files are one request, not 300): it keeps the last line it
/// covers in each, so its acknowledgement moves every one of those files' checkpoints. A batch
/// with no hits carries only progress (lines that were all filtered) and is not sent.
public final class Batch: @unchecked Sendable {
    public let body = ByteBuffer(capacity: 256 * 1024)
    public private(set) var positions: [LinePosition] = []
    /// Where each hit's JSON starts in `body`: a batch too large for a proxy is cut between hits.
    private var hitStarts: [Int] = []
    /// Per input covered, in order, the last line covered (hit or skipped): where each input's
    /// checkpoint may move once the batch is acknowledged.
    public private(set) var covered: [LinePosition] = []
    /// The last line covered.
    public var lastPosition: LinePosition? { covered.last }
    /// With checkpoints, per file covered, the checkpoint after the batch's last line in it,
    /// ready to save on acknowledgement (complete once the batch is closed).
    public private(set) var checkpoints: [Checkpoint] = []
    /// The file being read: its last line so far, made a checkpoint when the batch moves on.
    private var openMark: CheckpointMark?

    private static let prefixWithSessions: StaticString = "{\"hits\":["
    private static let prefixNoSessions: StaticString = "{\"no_sessions\":true,\"hits\":["

    init(noSessions: Bool) {
        body.append(noSessions ? Batch.prefixNoSessions : Batch.prefixWithSessions)
    }

    public var hitCount: Int { positions.count }

    /// Called before a hit is encoded into `body`.
    @inline(__always)
    func willAppendHit() {
        if !positions.isEmpty { body.append(UInt8(ascii: ",")) }
        hitStarts.append(body.count)
    }

    @inline(__always)
    func didAppendHit(_ position: LinePosition) {
        positions.append(position)
        cover(position)
    }

    @inline(__always)
    func cover(_ position: LinePosition) {
        if let last = covered.last, last.input == position.input {
            covered[covered.count - 1] = position
        } else {
            covered.append(position)
        }
    }

    @inline(__always)
    func cover(_ mark: CheckpointMark) {
        if let open = openMark, !open.isSameReading(as: mark) { settle(open) }
        openMark = mark
    }

    /// The checkpoint of a file the batch has moved on from (its reading has not read on yet).
    private func settle(_ mark: CheckpointMark) {
        let checkpoint = mark.checkpoint()
        if let last = checkpoints.last, last.fingerprint == checkpoint.fingerprint {
            checkpoints[checkpoints.count - 1] = checkpoint
        } else {
            checkpoints.append(checkpoint)
        }
    }

    /// Whether the batch holds hits or progress.
    var isEmpty: Bool { covered.isEmpty && checkpoints.isEmpty && openMark == nil }

    /// Ends the body, and makes the last file's checkpoint while its reading is still there:
    /// call on the reading thread.
    func close() {
        if let open = openMark { settle(open) }
        openMark = nil
        body.append("]}")
    }

    /// The closed batch cut in two after `count` hits (0 < count < hitCount), for a server that
    /// refuses the whole as too large. Only the second half carries the batch's progress past
    /// its hits (skipped lines, the follow checkpoints, the files it ran through): the first
    /// half's acknowledgement moves checkpoints only to its own hits, so a crash between the two
    /// acknowledgements resends exactly the second half.
    func split(after count: Int) -> (Batch, Batch) {
        precondition(count > 0 && count < hitCount)
        let prefixLength = hitStarts[0]
        let bodyEnd = body.count - 2   // before "]}"
        func part(_ range: Range<Int>) -> Batch {
            let batch = Batch(prefix: UnsafeBufferPointer(start: body.base, count: prefixLength))
            for i in range {
                batch.willAppendHit()
                let end = i + 1 < hitCount ? hitStarts[i + 1] - 1 : bodyEnd   // before the next hit's comma
                batch.body.append(body.base + hitStarts[i], count: end - hitStarts[i])
                batch.didAppendHit(positions[i])
            }
            batch.close()
            return batch
        }
        let first = part(0..<count)
        let second = part(count..<hitCount)
        second.covered = covered
        second.checkpoints = checkpoints
        return (first, second)
    }

    private init(prefix: UnsafeBufferPointer<UInt8>) {
        body.append(prefix.baseAddress!, count: prefix.count)
    }
}
