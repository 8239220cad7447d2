import CZlib

/// Decompresses a gzip stream from another source with zlib.
///
/// Handles multi-member files (`cat a.gz b.gz`, some rotators) by resetting at each
/// member's end, and treats garbage after a member the way `gzip -d` does: as padding.
/// A stream that ends inside a member throws `GzipError.truncated` after every byte
/// decoded before that point has been returned.
public final class GzipSource: ByteSource {
    private let inner: ByteSource
    // zlib checks that its state points back at the stream, so the z_stream must never move.
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity = 256 * 1024
    private var innerEOF = false
    private var finished = false
    private var inMember = false
    private var pendingError: Error?

    public var name: String { inner.name }

    public init(inner: ByteSource) {
        self.inner = inner
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(capacity: inputCapacity)
        // 15 + 16: gzip only (the caller sniffed the magic bytes).
        let rc = goat_inflateInit2(stream, 15 + 16)
        precondition(rc == Z_OK, "inflateInit2 failed: \(rc)")
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        if let error = pendingError { pendingError = nil; finished = true; throw error }
        if finished { return 0 }
        let out = buffer.assumingMemoryBound(to: UInt8.self)
        stream.pointee.next_out = out
        stream.pointee.avail_out = UInt32(clamping: capacity)
        while stream.pointee.avail_out > 0 {
            if stream.pointee.avail_in == 0 && !innerEOF {
                let n = try inner.read(into: input, capacity: inputCapacity)
                if n == 0 { innerEOF = true } else {
                    stream.pointee.next_in = input
                    stream.pointee.avail_in = UInt32(n)
                }
            }
            if stream.pointee.avail_in == 0 && innerEOF {
                if inMember { deferError(GzipError.truncated(file: name)) }
                finished = true
                break
            }
            let rc = inflate(stream, Z_NO_FLUSH)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                inMember = true
            case Z_STREAM_END:
                // Another member may follow.
                inMember = false
                inflateReset(stream)
                if stream.pointee.avail_in == 0 && !innerEOF { continue }
                if stream.pointee.avail_in == 0 { finished = true }
            case Z_DATA_ERROR where !inMember && Self.isHeaderError(stream.pointee.msg):
                // Bytes after a complete member that are not a gzip header: padding. (A member
                // whose damage shows in its first call is not padding: its error is reported.)
                finished = true
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                deferError(GzipError.corrupt(file: name, message: message))
                finished = true
            }
            if finished { break }
        }
        let produced = capacity - Int(stream.pointee.avail_out)
        if produced == 0, let error = pendingError { pendingError = nil; throw error }
        return produced
    }

    /// zlib's message for bytes that do not start a gzip member.
    private static func isHeaderError(_ message: UnsafePointer<CChar>?) -> Bool {
        guard let message else { return false }
        let text = String(cString: message)
        return text == "incorrect header check" || text == "unknown compression method"
    }

    private func deferError(_ error: Error) {
        // Report only once everything decoded before the error has been handed out.
        pendingError = error
    }
}

public enum GzipError: Error, CustomStringConvertible, Equatable {
    case truncated(file: String)
    case corrupt(file: String, message: String)

    public var description: String {
        switch self {
        case .truncated(let file): return "\(file): gzip data ends early (truncated file); lines before this point were read"
        case .corrupt(let file, let message): return "\(file): corrupt gzip data (\(message)); lines before this point were read"
        }
    }
}
