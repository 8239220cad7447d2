/// Up to `--batch-size` encoded hits and where they came from: the body of one count request.
///
/// A batch never spans two inputs, so its acknowledgement moves exactly one file's checkpoint.
/// A batch with no hits carries only progress (lines that were all filtered) and is not sent.
public final class Batch: @unchecked Sendable {
    public let input: Int
    public let body = ByteBuffer(capacity: 256 * 1024)
    public private(set) var positions: [LinePosition] = []
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
    }

    @inline(__always)
    func didAppendHit(_ position: LinePosition) {
        positions.append(position)
        lastPosition = position
    }

    func didSkip(_ position: LinePosition) { lastPosition = position }

    func close() { body.append("]}") }
}
