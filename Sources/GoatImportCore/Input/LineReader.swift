#if canImport(Glibc)
import Glibc
#endif

/// One line of input: a view into the reader's buffer, valid until the next call to `next()`.
public struct Line {
    public let base: UnsafePointer<UInt8>
    public let count: Int
    /// 1-based line number within the stream.
    public let number: Int
    /// Byte offset (in the decompressed stream) just past this line's newline.
    public let endOffset: Int64
    /// The line's bytes in the stream: content, a `\r` dropped from it, the newline (none for
    /// a finished file's last line).
    public let rawCount: Int

    public init(base: UnsafePointer<UInt8>, count: Int, number: Int, endOffset: Int64, rawCount: Int? = nil) {
        self.base = base
        self.count = count
        self.number = number
        self.endOffset = endOffset
        self.rawCount = rawCount ?? count + 1
    }
}

/// Splits a byte stream into lines with memchr over large reads; no allocation per line.
///
/// A line longer than `maxLineLength` is skipped whole and counted in `tooLongLines`: a
/// binary blob or a runaway URL must never end an import or grow memory. A trailing `\r`
/// is dropped (logs written on Windows).
public final class LineReader {
    public let source: ByteSource
    public let maxLineLength: Int
    /// One-shot imports treat the bytes after the last newline as a line; a follower waits
    /// for the newline because the server may still be writing it.
    public var emitPartialLineAtEOF: Bool

    public private(set) var lineNumber = 0
    public private(set) var tooLongLines = 0
    /// Offset just past the last line handed out (or skipped).
    public private(set) var offset: Int64 = 0

    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private let readSize: Int
    private var start = 0          // first byte not yet handed out
    private var end = 0            // end of valid data
    private var bufferOffset: Int64 = 0  // stream offset of buffer[0]
    private var skippingLongLine = false
    private var sawEOF = false

    public init(source: ByteSource, readSize: Int = 1 << 20, maxLineLength: Int = 64 * 1024,
                emitPartialLineAtEOF: Bool = true, startOffset: Int64 = 0, startLine: Int = 0) {
        self.source = source
        self.readSize = readSize
        self.maxLineLength = LineCut.cap(maxLineLength)
        self.emitPartialLineAtEOF = emitPartialLineAtEOF
        self.capacity = readSize + self.maxLineLength
        self.buffer = .allocate(capacity: capacity)
        self.bufferOffset = startOffset
        self.offset = startOffset
        self.lineNumber = startLine
    }

    deinit { buffer.deallocate() }

    /// Bytes read but not yet handed out as complete lines (a partial last line).
    public var pendingBytes: Int { end - start }

    /// The next line, or nil at the end of the stream (for now: a follower may call again
    /// after more data has arrived).
    public func next() throws -> Line? {
        while true {
            if start < end, let cut = LineCut.next(UnsafePointer(buffer), from: start, to: end, cap: maxLineLength) {
                let lineStart = start
                start = cut.next
                offset = bufferOffset + Int64(start)
                lineNumber += 1
                if skippingLongLine {
                    skippingLongLine = false
                    continue
                }
                if cut.tooLong { tooLongLines += 1; continue }
                return Line(base: UnsafePointer(buffer + lineStart), count: cut.count, number: lineNumber,
                            endOffset: offset, rawCount: cut.rawCount)
            }
            // No newline in what is buffered: make room and read more.
            compact()
            if end - start > maxLineLength && !skippingLongLine {
                // Over the cap: drop what we have and skip to the next newline.
                skippingLongLine = true
                tooLongLines += 1
            }
            if skippingLongLine {
                bufferOffset += Int64(end)
                start = 0
                end = 0
            }
            let n = try source.read(into: buffer + end, capacity: capacity - end)
            if n > 0 {
                end += n
                sawEOF = false
                continue
            }
            sawEOF = true
            guard emitPartialLineAtEOF, start < end || skippingLongLine else { return nil }
            // The last line has no newline; in one-shot mode it is still a line (never over the
            // cap here: a longer one is being skipped).
            let lineStart = start
            let cut = LineCut.last(UnsafePointer(buffer), from: start, to: end, cap: maxLineLength)
            start = end
            offset = bufferOffset + Int64(end)
            if skippingLongLine { skippingLongLine = false; lineNumber += 1; return nil }
            lineNumber += 1
            return Line(base: UnsafePointer(buffer + lineStart), count: cut.count, number: lineNumber,
                        endOffset: offset, rawCount: cut.rawCount)
        }
    }

    private func compact() {
        guard start > 0 else { return }
        let remaining = end - start
        if remaining > 0 { memmove(buffer, buffer + start, remaining) }
        bufferOffset += Int64(start)
        start = 0
        end = remaining
    }
}

/// How bytes are cut into lines, for everything that reads them: `LineReader`, and the parse
/// lanes, which split blocks of whole lines the same way. A line ends at `\n`; a `\r` before it
/// is dropped (logs written on Windows); one longer than the cap is skipped whole and counted.
public enum LineCut {
    /// The cap as applied: never below 16 bytes.
    @inline(__always)
    public static func cap(_ maxLineLength: Int) -> Int { max(maxLineLength, 16) }

    /// One line of `p[start..<end]`: its length without the `\r`, its raw length (with the
    /// newline, if any), where the next line starts, and whether it is over the cap.
    public struct Cut {
        public let count: Int
        public let rawCount: Int
        public let next: Int
        public let tooLong: Bool
    }

    /// The line starting at `start` that ends at a newline before `end`; nil when there is none.
    @inline(__always)
    public static func next(_ p: UnsafePointer<UInt8>, from start: Int, to end: Int, cap: Int) -> Cut? {
        guard let nl = memchr(p + start, 0x0A, end - start) else { return nil }
        let length = UnsafeRawPointer(nl).assumingMemoryBound(to: UInt8.self) - (p + start)
        return Cut(count: withoutCR(p + start, length), rawCount: length + 1, next: start + length + 1, tooLong: length > cap)
    }

    /// The bytes from `start` to `end` as the input's last line, without a newline.
    @inline(__always)
    public static func last(_ p: UnsafePointer<UInt8>, from start: Int, to end: Int, cap: Int) -> Cut {
        let length = end - start
        return Cut(count: withoutCR(p + start, length), rawCount: length, next: end, tooLong: length > cap)
    }

    /// The length of a line without the `\r` of a CRLF ending.
    @inline(__always)
    static func withoutCR(_ p: UnsafePointer<UInt8>, _ length: Int) -> Int {
        length > 0 && p[length - 1] == 0x0D ? length - 1 : length
    }
}
