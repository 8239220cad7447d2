#if canImport(Glibc)
import Glibc
#endif

/// Where a line came from: enough to report it (file:line) and to checkpoint past it.
public struct LinePosition: Sendable, Equatable {
    public var input: Int          // index into the run's inputs
    public var line: Int           // 1-based
    public var endOffset: Int64    // offset just past the line in the (decompressed) stream
    /// With a site map, the site the line's hit goes to (index into `SiteMap.sites`); else 0.
    public var site: Int
    public init(input: Int, line: Int, endOffset: Int64, site: Int = 0) {
        self.input = input
        self.line = line
        self.endOffset = endOffset
        self.site = site
    }
}

/// Receives encoded hits. The importer asks for the buffer of the next hit, appends the hit's
/// JSON to it and then calls `didEncodeHit`, so a hit is written once, straight into its final place.
public protocol HitSink: AnyObject {
    /// Where the checkpoint after the line about to be processed goes (saved once that line
    /// is acknowledged); only with checkpoints.
    func note(mark: CheckpointMark)
    func bufferForNextHit(at position: LinePosition) throws -> ByteBuffer
    func didEncodeHit(at position: LinePosition) throws
    /// A line that produced no hit (filtered, malformed): progress a checkpoint may record.
    func didSkipLine(at position: LinePosition, reason: SkipReason) throws
    func didFinishInput(_ input: Int) throws
    func finish() throws
}

/// A sink that follow mode can drive: it is asked to send what it holds when the log goes quiet.
public protocol FollowingSink: HitSink {
    /// Sends what has been collected now (the low-traffic flush).
    func flush() throws
}

extension HitSink {
    public func note(mark: CheckpointMark) {}
    public func didSkipLine(at position: LinePosition, reason: SkipReason) throws {}
    public func didFinishInput(_ input: Int) throws {}
}

/// `--dry-run`: one hit per line (NDJSON) on a file descriptor, nothing else.
public final class NDJSONSink: HitSink {
    public let buffer = ByteBuffer(capacity: 1 << 20)
    private let fd: Int32

    @inline(__always)
    public func bufferForNextHit(at position: LinePosition) -> ByteBuffer { buffer }

    public init(fd: Int32 = STDOUT_FILENO) { self.fd = fd }

    @inline(__always)
    public func didEncodeHit(at position: LinePosition) throws {
        buffer.append(0x0A)
        if buffer.count >= 512 * 1024 { try buffer.write(to: fd) }
    }

    public func didFinishInput(_ input: Int) throws { try buffer.write(to: fd) }

    public func finish() throws { try buffer.write(to: fd) }
}
