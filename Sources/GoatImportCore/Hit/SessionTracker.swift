#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Visits from the log's own timestamps: the same IP and user agent belong to one visit until
/// they have been quiet for `gap` seconds of log time (8 hours, as GoatCounter does in server
/// time). GoatCounter groups hits by `session` when one is sent, so a year of history imported in
/// an hour keeps its real visits instead of collapsing each visitor into one.
///
/// A visit's id is SipHash-2-4 of the visitor and the visit's start under a per-installation
/// secret: it reveals neither the IP nor the user agent, and is the same on every run, so a
/// resumed import continues the same visits (the open visits are saved with the state).
public final class SessionTracker {
    public let gap: Int
    private let key: (UInt64, UInt64)
    private var visits = VisitTable()
    private var newest = Int.min
    private let hex = ByteBuffer(capacity: 16)
    /// Set when another thread saves the visits (with each acknowledged checkpoint) while this
    /// one looks them up: both then take `lock`.
    public var isShared = false
    private let lock = NSLock()

    public init(secret: [UInt8], gap: Int = 8 * 3600) {
        precondition(secret.count >= 16)
        var k0: UInt64 = 0, k1: UInt64 = 0
        for i in 0..<8 { k0 |= UInt64(secret[i]) << (8 * i); k1 |= UInt64(secret[8 + i]) << (8 * i) }
        key = (k0, k1)
        self.gap = gap
    }

    /// The id of the visit this hit belongs to, as 16 hex digits (valid until the next call).
    public func session(ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer, time: Int) -> UnsafeBufferPointer<UInt8> {
        let visitor = visitor(ip: ip, userAgent: userAgent)
        guard isShared else { return session(visitor: visitor, time: time) }
        lock.lock()
        defer { lock.unlock() }
        return session(visitor: visitor, time: time)
    }

    /// The keyed hash of one visitor: the costly half of `session`, which parse lanes compute
    /// in parallel (it depends on nothing but the line).
    public func visitor(ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer) -> UInt64 {
        var h = SipHash(key: key)
        h.add(ip)
        h.add(byte: 0)
        h.add(userAgent)
        return h.finish()
    }

    /// The visit of `visitor` at `time`: the ordered half of `session`, called in log order.
    public func session(visitor: UInt64, time: Int) -> UnsafeBufferPointer<UInt8> {
        newest = max(newest, time)
        let slot = visits.slot(for: visitor, dropIdleBefore: newest - gap)
        var value: UInt64
        if visits.isOccupied(slot), time - visits.last(slot) <= gap, time >= visits.start(slot) - gap {
            visits.touch(slot, last: time)
            value = visits.id(slot)
        } else {
            var id = SipHash(key: key)
            id.add(word: visitor)
            id.add(word: UInt64(bitPattern: Int64(time)))
            value = id.finish()
            visits.set(slot, key: visitor, start: time, last: time, id: value)
        }
        hex.removeAll()
        for shift in stride(from: 60, through: 0, by: -4) {
            hex.append(JSONString.hexDigit(UInt8((value >> UInt64(shift)) & 0xF)))
        }
        return hex.bytes
    }

    /// Visits quiet for longer than the gap (in log time) are closed and forgotten.
    public func prune() {
        guard newest != Int.min else { return }   // no hit with a time yet (an export's rows carry their own sessions)
        visits.rebuild(dropIdleBefore: newest - gap, capacity: visits.capacity)
    }

    public var openVisits: Int { visits.count }

    // MARK: persistence: `sessions.json` beside the state file

    struct Saved: Codable {
        var version = 1
        var gap: Int
        var visits: [String: [Int]]   // visitor (hex) → [start, last]
    }

    public func save(to path: String) throws {
        if isShared { lock.lock() }
        defer { if isShared { lock.unlock() } }
        prune()
        var saved = Saved(gap: gap, visits: [:])
        for i in 0..<visits.capacity where visits.isOccupied(i) {
            saved.visits[String(visits.key(i), radix: 16)] = [visits.start(i), visits.last(i)]
        }
        let data = try JSONEncoder().encode(saved)
        try AtomicFile.write(data, to: path)
    }

    public func load(from path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let saved = try? JSONDecoder().decode(Saved.self, from: data) else {
            throw SessionError("\(path): not a goatimport sessions file; move it away to start the visits afresh")
        }
        for (visitor, v) in saved.visits where v.count == 2 {
            guard let key = UInt64(visitor, radix: 16) else { continue }
            newest = max(newest, v[1])
            var id = SipHash(key: self.key)
            id.add(word: key)
            id.add(word: UInt64(bitPattern: Int64(v[0])))
            let slot = visits.slot(for: key, dropIdleBefore: Int.min)
            visits.set(slot, key: key, start: v[0], last: v[1], id: id.finish())
        }
    }

    /// The per-installation secret in `path` (32 random bytes, 0600), created on first use.
    public static func secret(at path: String) throws -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path), data.count >= 16 { return Array(data) }
        var bytes = [UInt8](repeating: 0, count: 32)
        var g = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &g) }
        try AtomicFile.write(Data(bytes), to: path)
        return bytes
    }

    public struct SessionError: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }
}

/// Open visits by visitor hash: open addressing with linear probing over parallel arrays. Grows
/// only after dropping visits that have been idle past the gap, so its size follows the number of
/// visitors in one gap of log time, not the length of the log. (A Swift Dictionary cost more than
/// the rest of the line here.)
struct VisitTable {
    /// One visit in one 32-byte entry, so a lookup touches one cache line. Key 0 marks an empty
    /// slot (a visitor hash of 0 is stored as 1).
    struct Entry {
        var key: UInt64 = 0
        var start = 0
        var last = 0
        var id: UInt64 = 0
    }

    private(set) var entries: [Entry]
    private(set) var count = 0
    var capacity: Int { entries.count }

    init(capacity: Int = 1024) {
        entries = [Entry](repeating: Entry(), count: capacity)
    }

    @inline(__always) static func stored(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    func isOccupied(_ slot: Int) -> Bool { entries[slot].key != 0 }
    func key(_ slot: Int) -> UInt64 { entries[slot].key }
    func start(_ slot: Int) -> Int { entries[slot].start }
    func last(_ slot: Int) -> Int { entries[slot].last }
    func id(_ slot: Int) -> UInt64 { entries[slot].id }
    mutating func touch(_ slot: Int, last: Int) { entries[slot].last = max(entries[slot].last, last) }

    /// The slot holding `key`, or the empty slot where it goes (`isOccupied` false).
    mutating func slot(for rawKey: UInt64, dropIdleBefore cutoff: Int) -> Int {
        if (count + 1) * 2 > capacity {
            rebuild(dropIdleBefore: cutoff, capacity: capacity)
            // Still over three-eighths full with only open visits: grow.
            if (count + 1) * 8 > capacity * 3 { rebuild(dropIdleBefore: cutoff, capacity: capacity * 2) }
        }
        let key = VisitTable.stored(rawKey)
        let mask = capacity - 1
        var i = Int(truncatingIfNeeded: key >> 17) & mask
        return entries.withUnsafeBufferPointer { e in
            while e[i].key != 0 {
                if e[i].key == key { return i }
                i = (i + 1) & mask
            }
            return i
        }
    }

    mutating func set(_ slot: Int, key rawKey: UInt64, start: Int, last: Int, id: UInt64) {
        if entries[slot].key == 0 { count += 1 }
        entries[slot] = Entry(key: VisitTable.stored(rawKey), start: start, last: last, id: id)
    }

    /// Rehashes into `capacity` slots, leaving out visits idle since before `cutoff`.
    mutating func rebuild(dropIdleBefore cutoff: Int, capacity newCapacity: Int) {
        var table = VisitTable(capacity: newCapacity)
        let mask = newCapacity - 1
        for entry in entries where entry.key != 0 && entry.last >= cutoff {
            var j = Int(truncatingIfNeeded: entry.key >> 17) & mask
            while table.entries[j].key != 0 { j = (j + 1) & mask }
            table.entries[j] = entry
            table.count += 1
        }
        self = table
    }
}

/// Writes a file atomically, mode 0600: temp file in the same directory, fsync, rename.
enum AtomicFile {
    static func write(_ data: Data, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError(errno: errno, context: temp) }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { return false }
                off += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temp, path) == 0 else { unlink(temp); throw SystemError(errno: errno, context: path) }
    }
}

/// SipHash-2-4: a keyed hash that is a pseudo-random function under its key.
struct SipHash {
    private var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
    private var tail: UInt64 = 0
    private var tailBytes = 0
    private var length = 0

    init(key: (UInt64, UInt64)) {
        v0 = key.0 ^ 0x736f_6d65_7073_6575
        v1 = key.1 ^ 0x646f_7261_6e64_6f6d
        v2 = key.0 ^ 0x6c79_6765_6e65_7261
        v3 = key.1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }

    @inline(__always) private mutating func round() {
        v0 = v0 &+ v1; v1 = SipHash.rotl(v1, 13); v1 ^= v0; v0 = SipHash.rotl(v0, 32)
        v2 = v2 &+ v3; v3 = SipHash.rotl(v3, 16); v3 ^= v2
        v0 = v0 &+ v3; v3 = SipHash.rotl(v3, 21); v3 ^= v0
        v2 = v2 &+ v1; v1 = SipHash.rotl(v1, 17); v1 ^= v2; v2 = SipHash.rotl(v2, 32)
    }

    @inline(__always) private mutating func compress(_ m: UInt64) {
        v3 ^= m; round(); round(); v0 ^= m
    }

    mutating func add(byte: UInt8) {
        tail |= UInt64(byte) << (8 * UInt64(tailBytes))
        tailBytes += 1
        length += 1
        if tailBytes == 8 { compress(tail); tail = 0; tailBytes = 0 }
    }

    /// Whole 8-byte words at a time when aligned to the message; the hot path hashes every hit's
    /// IP and user agent.
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var i = 0
        let n = bytes.count
        while i < n && tailBytes != 0 { add(byte: bytes[i]); i += 1 }
        while i + 8 <= n {
            compress(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            length += 8
            i += 8
        }
        while i < n { add(byte: bytes[i]); i += 1 }
    }

    mutating func add(word: UInt64) {
        if tailBytes == 0 { compress(word); length += 8; return }
        for i in 0..<8 { add(byte: UInt8(truncatingIfNeeded: word >> (8 * UInt64(i)))) }
    }

    mutating func finish() -> UInt64 {
        let b = (UInt64(truncatingIfNeeded: length) << 56) | tail
        compress(b)
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
