#if canImport(Glibc)
import Glibc
#endif

/// The ≤64 bytes before the end of the last line a follower read, for the tail hash of a
/// checkpoint there. Kept up to date for every line at the cost of a short copy, in storage of
/// its own: the hash itself is made only for the lines a checkpoint is taken after.
final class TailRing {
    private let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: TailCheck.length)
    private(set) var count = 0
    /// The stream offset the bytes end at.
    private(set) var end: Int64 = 0
    /// False when the bytes before `end` are not known (a gzip stream after a skipped line).
    private(set) var isValid = false

    deinit { bytes.deallocate() }

    /// The tail hash at `end`; nil when unknown.
    var hash: String? { isValid ? TailCheck.hash(UnsafeBufferPointer(start: bytes, count: count)) : nil }

    /// Starts over at `offset` with the bytes before it (`nil`: unknown; at 0 there are none).
    func reset(_ tail: [UInt8]?, at offset: Int64) {
        end = offset
        count = 0
        isValid = offset == 0 || tail != nil
        guard offset > 0, let tail else { return }
        tail.withUnsafeBufferPointer { append($0.baseAddress, $0.count) }
    }

    /// Forgets the bytes (a line was skipped: what precedes the next one must be read again).
    func invalidate() { isValid = false }

    /// Adds a line's raw bytes (content, `\r`, `\n`), which end at `endOffset`. After a gap,
    /// `before(lineStart)` gives the ≤64 bytes before the line (nil: they cannot be read).
    @inline(__always)
    func absorb(_ base: UnsafePointer<UInt8>, rawCount: Int, endOffset: Int64, before: (Int64) -> [UInt8]?) {
        let lineStart = endOffset - Int64(rawCount)
        if !isValid || lineStart != end {
            count = 0
            isValid = true
            if lineStart > 0 {
                if let known = before(lineStart) { known.withUnsafeBufferPointer { append($0.baseAddress, $0.count) } } else { isValid = false }
            }
        }
        append(base, rawCount)
        end = endOffset
        // Unknown bytes before, but 64 known since: the tail is whole again.
        if count >= TailCheck.length { isValid = true }
    }

    @inline(__always)
    private func append(_ source: UnsafePointer<UInt8>?, _ n: Int) {
        guard let source, n > 0 else { return }
        let length = TailCheck.length
        if n >= length {
            bytes.update(from: source + (n - length), count: length)
            count = length
            return
        }
        let drop = max(0, count + n - length)
        if drop > 0 {
            memmove(bytes, bytes + drop, count - drop)
            count -= drop
        }
        (bytes + count).update(from: source, count: n)
        count += n
    }
}
