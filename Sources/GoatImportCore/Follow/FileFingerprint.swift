#if canImport(Glibc)
import Glibc
#endif

/// The identity of a log file that survives renames and compression: a 64-bit FNV-1a hash of
/// its first bytes, read from the decompressed content, up to and including the first line that
/// is not a directive (`#…`), newline included (at most `FileFingerprint.maxBytes` bytes).
///
/// Directive lines are hashed but do not end the identity: every IIS log starts with
/// `#Software: Microsoft Internet Information Services 10.0` and every CloudFront log with
/// `#Version: 1.0`, so only the first request line tells two such files apart.
/// `access.log`, `access.log.1` and `access.log.1.gz` with the same content have the same
/// identity; a file truncated and rewritten (copytruncate) gets a new one. A file whose first
/// request line is not complete yet has no identity (`compute` returns nil: wait for more data).
/// It is written as 16 lowercase hex digits in the state file.
///
/// For a file whose first line is a request line of at most `legacyMaxBytes` bytes (nginx,
/// Apache, Caddy…) this is the identity goatimport has always used. Other files were known by
/// their first line alone (`legacy`): a state file written then is still found under that key.
public struct FileFingerprint: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Bytes hashed at most when the directives and first request line are longer than this.
    public static let maxBytes = 4096
    /// The cap of the legacy identity (the first line only).
    public static let legacyMaxBytes = 1024

    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    /// Parses the 16-hex-digit form.
    public init?(hex: String) {
        guard hex.count == 16, let v = UInt64(hex, radix: 16) else { return nil }
        value = v
    }

    public var hex: String { FNV1a.hex(value) }
    public var description: String { hex }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = FileFingerprint(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "bad fingerprint \"\(text)\""))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }

    /// The fingerprint of a file, decompressing it when it starts with a gzip header; nil
    /// when its first line is not complete yet.
    public static func compute(path: String) throws -> FileFingerprint? {
        try compute(source: InputOpener.open(path: path))
    }

    /// The fingerprint of a stream read from its start; nil when its first request line is incomplete.
    public static func compute(source: ByteSource) throws -> FileFingerprint? {
        try identities(source: source)?.current
    }

    /// The identity and the legacy one (first line only) of a stream read from its start.
    static func identities(source: ByteSource, finished: Bool = false) throws -> (current: FileFingerprint, legacy: FileFingerprint?)? {
        var head = [UInt8](repeating: 0, count: maxBytes)
        var got = 0
        while got < maxBytes {
            let n = try head.withUnsafeMutableBytes { try source.read(into: $0.baseAddress! + got, capacity: maxBytes - got) }
            if n == 0 { break }
            got += n
            // Stop as soon as the identity is complete: no need to read further.
            if compute(head: head[0..<got]) != nil { break }
        }
        return identities(head: head[0..<got], finished: finished)
    }

    /// A finished file ends at its last byte: one shorter than an identity is known by all of
    /// it, as if its last line ended with a newline.
    static func identities(head: ArraySlice<UInt8>, finished: Bool) -> (current: FileFingerprint, legacy: FileFingerprint?)? {
        if let current = compute(head: head) { return (current, legacy(head: head)) }
        guard finished, !head.isEmpty, head.count < maxBytes, head.last != 0x0A else { return nil }
        let whole = Array(head) + [0x0A]
        return compute(head: whole).map { ($0, legacy(head: whole)) }
    }

    /// The fingerprint of the first bytes of a stream (as many as are available, up to
    /// `maxBytes`): through the first line that does not start with `#`.
    public static func compute<C: Collection>(head: C) -> FileFingerprint? where C.Element == UInt8 {
        var hash = FNV1a()
        var n = 0
        var lineStart = true
        var directive = false
        for byte in head {
            if n == maxBytes { break }
            hash.add(byte)
            n += 1
            if lineStart { directive = byte == UInt8(ascii: "#") }
            lineStart = byte == 0x0A
            if byte == 0x0A && !directive { return FileFingerprint(value: hash.value) }
        }
        return n == maxBytes ? FileFingerprint(value: hash.value) : nil
    }

    /// The identity of releases before directive lines were skipped: the first line alone (at most
    /// `legacyMaxBytes`). Used only to find checkpoints in a state file written by them.
    public static func legacy<C: Collection>(head: C) -> FileFingerprint? where C.Element == UInt8 {
        var hash = FNV1a()
        var n = 0
        for byte in head {
            if n == legacyMaxBytes { break }
            hash.add(byte)
            n += 1
            if byte == 0x0A { return FileFingerprint(value: hash.value) }
        }
        return n == legacyMaxBytes ? FileFingerprint(value: hash.value) : nil
    }
}

/// The "tail check": a hash of the (up to) 64 bytes just before an offset in the decompressed
/// stream. Stored with a checkpoint; on resume a mismatch means the file was truncated and
/// rewritten (copytruncate) or the inode reused, and the file is read again from 0.
public enum TailCheck {
    public static let length = 64

    /// The hash of `bytes` (the ≤64 bytes ending at some offset), as stored in checkpoints.
    public static func hash<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var h = FNV1a()
        // The length is part of the hash: offsets below 64 hash fewer bytes.
        h.add(UInt8(truncatingIfNeeded: bytes.count))
        for b in bytes { h.add(b) }
        return FNV1a.hex(h.value)
    }

    /// The tail hash before `offset` in the file at `path` (decompressed if it is gzip); nil
    /// when the stream is shorter than `offset`.
    public static func hash(path: String, before offset: Int64) throws -> String? {
        let file = try LogFile(path: path)
        return try file.tailHash(before: offset)
    }
}

/// 64-bit FNV-1a: no dependency, and ample for telling log files apart by their first line.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    mutating func add(_ byte: UInt8) {
        value ^= UInt64(byte)
        value &*= 0x0000_0100_0000_01b3
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Reads a descriptor with pread(2) from a position of its own, so that several readers (the
/// line reader, a fingerprint check) can share one descriptor without seeking.
final class PreadSource: ByteSource {
    let fd: Int32
    let name: String
    var position: Int64

    init(fd: Int32, name: String, position: Int64 = 0) {
        self.fd = fd
        self.name = name
        self.position = position
    }

    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        while true {
            let n = pread(fd, buffer, capacity, off_t(position))
            if n >= 0 { position += Int64(n); return n }
            if errno == EINTR { continue }
            throw SystemError(errno: errno, context: name)
        }
    }
}

/// An open log file: a descriptor (kept open, so renames and unlinks do not matter), its
/// inode, and whether it is gzip-compressed (sniffed by magic bytes, not by name).
final class LogFile {
    let path: String
    let fd: Int32
    let device: UInt64
    let inode: UInt64
    let isGzip: Bool
    /// No server writes to it any more (a rotated name, given to a one-shot run): its last line
    /// ends at its last byte, newline or not.
    var finished = false

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError(errno: errno, context: path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw SystemError(errno: e, context: path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw SystemError(errno: EISDIR, context: path)
        }
        self.path = path
        self.fd = fd
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        var magic: [UInt8] = [0, 0]
        let n = magic.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 2, 0) }
        isGzip = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b
    }

    deinit { close(fd) }

    /// Whether `path` names a regular file, asked without opening it (opening a FIFO waits for
    /// a writer, and reading a pipe consumes what the import must read).
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Current size on disk (compressed size for gzip).
    func size() -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return 0 }
        return Int64(st.st_size)
    }

    /// Seconds since the last modification (wall clock).
    func secondsSinceModified() -> Double {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return 0 }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec - st.st_mtim.tv_sec) + Double(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9
    }

    /// A fresh decompressed stream positioned at decompressed offset 0.
    func stream(name: String? = nil) -> ByteSource {
        let raw = PreadSource(fd: fd, name: name ?? path)
        return isGzip ? GzipSource(inner: raw) : raw
    }

    func fingerprint() throws -> FileFingerprint? { try identities()?.current }

    /// The identity, and the legacy one to look up a checkpoint written by an older release.
    func identities() throws -> (current: FileFingerprint, legacy: FileFingerprint?)? {
        if !isGzip {
            var head = [UInt8](repeating: 0, count: FileFingerprint.maxBytes)
            let n = try readFully(&head, at: 0)
            return FileFingerprint.identities(head: head[0..<n], finished: finished)
        }
        return try FileFingerprint.identities(source: stream(), finished: true)
    }

    /// The stored checkpoint of this file: under its identity, else (a state file written by an
    /// older release) under its legacy identity, re-keyed. The caller checks the tail as always,
    /// which tells apart the files an older release confused (IIS logs sharing a first line).
    func checkpoint(in store: CheckpointStore?) throws -> Checkpoint? {
        guard let store, let ids = try identities() else { return nil }
        return store.checkpoint(for: ids.current, legacy: ids.legacy)
    }

    /// The ≤64 bytes before `offset` (see `TailCheck`); nil when the stream is shorter. For gzip
    /// the stream is decompressed up to `offset`.
    func tail(before offset: Int64) throws -> [UInt8]? {
        guard isGzip else {
            let start = max(0, offset - Int64(TailCheck.length))
            var bytes = [UInt8](repeating: 0, count: Int(offset - start))
            return try readFully(&bytes, at: start) == bytes.count ? bytes : nil
        }
        return try Self.skip(stream(), to: offset)
    }

    func tailHash(before offset: Int64) throws -> String? { try tail(before: offset).map(TailCheck.hash) }

    /// Where a checkpoint resumes, checked: the bytes before `offset` when they are still those
    /// whose hash the checkpoint saved (an empty `tail` is not compared); nil when they changed
    /// or the file is shorter (truncated, or another file: read it from the start). The one rule
    /// for every reader, one-shot and follow.
    func verifiedTail(_ tail: String, before offset: Int64) throws -> [UInt8]? {
        guard let bytes = try self.tail(before: offset) else { return nil }
        return tail.isEmpty || TailCheck.hash(bytes) == tail ? bytes : nil
    }

    /// Whether a checkpoint at `offset` still stands (`verifiedTail`), without decompressing a
    /// .gz whose checkpoint saved no tail: that would mean inflating it up to the offset.
    func resumes(at offset: Int64, tail: String) throws -> Bool {
        if isGzip && tail.isEmpty { return true }
        return try verifiedTail(tail, before: offset) != nil
    }

    /// A .gz read to its end up to `offset`, by its trailer (the uncompressed size mod 2^32),
    /// without decompressing it.
    func gzipEnds(at offset: Int64) -> Bool {
        isGzip && gzipTrailerSize() == UInt32(truncatingIfNeeded: offset)
    }

    /// Reads and discards a stream up to `offset`; returns the last ≤64 bytes before it, or
    /// nil when the stream ends first.
    static func skip(_ source: ByteSource, to offset: Int64) throws -> [UInt8]? {
        let chunk = 256 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 8)
        defer { buffer.deallocate() }
        var position: Int64 = 0
        var tail: [UInt8] = []
        while position < offset {
            let want = Int(min(Int64(chunk), offset - position))
            let n = try source.read(into: buffer, capacity: want)
            if n == 0 { return nil }
            position += Int64(n)
            let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
            if n >= TailCheck.length {
                tail = Array(bytes[(n - TailCheck.length)...])
            } else {
                tail += bytes
                if tail.count > TailCheck.length { tail.removeFirst(tail.count - TailCheck.length) }
            }
        }
        return tail
    }

    /// pread until `buffer` is full or end of file; returns the byte count.
    func readFully(_ buffer: inout [UInt8], at offset: Int64) throws -> Int {
        var got = 0
        let total = buffer.count
        while got < total {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, total - got, off_t(offset + Int64(got))) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno: errno, context: path)
            }
            if n == 0 { break }
            got += n
        }
        return got
    }

    /// For gzip files: the uncompressed size mod 2^32 from the trailer (exact for the usual
    /// single-member file under 4 GiB).
    func gzipTrailerSize() -> UInt32? {
        let size = self.size()
        guard isGzip, size >= 18 else { return nil }
        var t: [UInt8] = [0, 0, 0, 0]
        guard (try? readFully(&t, at: size - 4)) == 4 else { return nil }
        return UInt32(t[0]) | UInt32(t[1]) << 8 | UInt32(t[2]) << 16 | UInt32(t[3]) << 24
    }

    /// Offset just past the last newline in the (plain) file: `from: .end` starts there so
    /// that a line being written when we start is still read once complete.
    func offsetAfterLastNewline() throws -> Int64 {
        var end = size()
        let chunk = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        while end > 0 {
            let start = max(0, end - Int64(chunk))
            let n = Int(end - start)
            if buffer.count != n { buffer = [UInt8](repeating: 0, count: n) }
            let got = try readFully(&buffer, at: start)
            if let i = buffer[0..<got].lastIndex(of: 0x0A) { return start + Int64(i) + 1 }
            end = start
        }
        return 0
    }
}
