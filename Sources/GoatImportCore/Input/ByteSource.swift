#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Something that yields a stream of bytes in chunks: a file, stdin, a decompressor.
///
/// `read` returns 0 at the end of the stream. Sources are classes because they own
/// descriptors and C state that must not be copied.
public protocol ByteSource: AnyObject {
    /// Reads up to `capacity` bytes into `buffer`; 0 means end of stream.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int
    /// A name for messages: the path, or `-` for stdin.
    var name: String { get }
}

/// Bytes in memory (a downloaded export, a sample's lines), handed out at most `step` at a time:
/// tests and fuzz targets feed readers through it in pieces of every size.
public final class MemorySource: ByteSource {
    private let bytes: Data
    private let step: Int
    public let name: String
    private var offset = 0

    public init(_ bytes: Data, step: Int = .max, name: String) {
        self.bytes = bytes
        self.step = max(step, 1)
        self.name = name
    }

    public convenience init(_ bytes: [UInt8], step: Int = .max, name: String) {
        self.init(Data(bytes), step: step, name: name)
    }

    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        let n = min(step, capacity, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }
}

/// An open file descriptor read with read(2).
public final class FileSource: ByteSource {
    public let fd: Int32
    public let name: String
    private let ownsDescriptor: Bool

    /// Opens `path` for reading; `-` is standard input.
    public init(path: String) throws {
        if path == "-" {
            fd = STDIN_FILENO
            name = "-"
            ownsDescriptor = false
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError(errno: errno, context: path) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw SystemError(errno: EISDIR, context: path)
        }
        // The whole file is read once from start to end.
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        self.fd = fd
        self.name = path
        self.ownsDescriptor = true
    }

    public init(fd: Int32, name: String, ownsDescriptor: Bool) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
    }

    deinit { if ownsDescriptor { close(fd) } }

    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer, capacity)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SystemError(errno: errno, context: name)
        }
    }
}

/// Bytes already read from a source (to sniff a gzip header) put back in front of it.
public final class PrefixedSource: ByteSource {
    private var prefix: [UInt8]
    private var prefixOffset = 0
    private let inner: ByteSource

    public init(prefix: [UInt8], inner: ByteSource) {
        self.prefix = prefix
        self.inner = inner
    }

    public var name: String { inner.name }

    /// Seeks a plain file (not stdin) to an absolute offset; false when it cannot.
    func seek(to offset: Int64) -> Bool {
        guard let file = inner as? FileSource, file.name != "-", lseek(file.fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            return false
        }
        prefixOffset = prefix.count
        return true
    }

    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        if prefixOffset < prefix.count {
            let n = min(capacity, prefix.count - prefixOffset)
            prefix.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + prefixOffset, byteCount: n) }
            prefixOffset += n
            return n
        }
        return try inner.read(into: buffer, capacity: capacity)
    }
}

/// The first `limit` bytes of a source, leaving the rest unread in it.
final class LimitedSource: ByteSource {
    private let inner: ByteSource
    private var remaining: Int64

    init(inner: ByteSource, limit: Int64) {
        self.inner = inner
        remaining = limit
    }

    var name: String { inner.name }

    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        guard remaining > 0 else { return 0 }
        let n = try inner.read(into: buffer, capacity: Int(min(Int64(capacity), remaining)))
        remaining -= Int64(n)
        return n
    }
}

public enum InputOpener {
    /// Opens a path (or `-`) and decompresses it when its first bytes are a gzip header,
    /// whatever its name says: rotated logs are not always named `.gz`, and some are.
    /// A stream (standard input, a FIFO) comes from `StreamInputs`: opened once, what format
    /// detection read from it first.
    public static func open(path: String) throws -> ByteSource {
        if StreamInputs.isStream(path) { return try open(source: StreamInputs.shared.reading(path)) }
        return try open(source: FileSource(path: path))
    }

    /// The same for a source that is already open.
    public static func open(source file: ByteSource) throws -> ByteSource {
        var head = [UInt8](repeating: 0, count: 2)
        var got = 0
        while got < 2 {
            let n = try head.withUnsafeMutableBytes { try file.read(into: $0.baseAddress! + got, capacity: 2 - got) }
            if n == 0 { break }
            got += n
        }
        head.removeLast(2 - got)
        let source = PrefixedSource(prefix: head, inner: file)
        if got == 2 && head[0] == 0x1f && head[1] == 0x8b {
            return GzipSource(inner: source)
        }
        return source
    }
}
