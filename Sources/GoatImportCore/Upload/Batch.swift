/// Up to `--batch-size` encoded hits and where they came from: the body of one count request.
///
/// A batch never spans two inputs, so its acknowledgement moves exactly one file's checkpoint.
/// A batch with no hits carries only progress (lines that were all filtered) and is not sent.
public final class Batch: @unchecked Sendable {
    public let input: Int
    public let body = ByteBuffer(capacity: 256 * 1024)
    public private(set) var positions: [LinePosition] = []
    /// Where each hit's JSON starts in `body`: a batch too large for a proxy is cut between hits.
    private var hitStarts: [Int] = []
    /// The last line covered, hit or skipped: where a checkpoint may move once acknowledged.
    public private(set) var lastPosition: LinePosition?
    public var isFinal = false   // the input's last batch
    /// In follow mode, the checkpoint after the batch's last line, ready to save on acknowledgement.
    public var checkpoint: Checkpoint?

    private static let prefixWithSessions: StaticString = "{\"hits\":["
    private static let prefixNoSessions: StaticString = "{\"no_sessions\":true,\"hits\":["

    init(input: Int, noSessions: Bool) {
        self.input = input
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
        lastPosition = position
    }

    func didSkip(_ position: LinePosition) { lastPosition = position }

    func close() { body.append("]}") }

    /// The closed batch cut in two after `count` hits (0 < count < hitCount), for a server that
    /// refuses the whole as too large. Only the second half carries the batch's progress past
    /// its hits (skipped lines, the follow checkpoint, the end of the input): the first half's
    /// acknowledgement moves a checkpoint only to its own last hit, so a crash between the two
    /// acknowledgements resends exactly the second half.
    func split(after count: Int) -> (Batch, Batch) {
        precondition(count > 0 && count < hitCount)
        let prefixLength = hitStarts[0]
        let bodyEnd = body.count - 2   // before "]}"
        func part(_ range: Range<Int>) -> Batch {
            let batch = Batch(input: input, prefix: UnsafeBufferPointer(start: body.base, count: prefixLength))
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
        second.lastPosition = lastPosition
        second.isFinal = isFinal
        second.checkpoint = checkpoint
        return (first, second)
    }

    private init(input: Int, prefix: UnsafeBufferPointer<UInt8>) {
        self.input = input
        body.append(prefix.baseAddress!, count: prefix.count)
    }
}
