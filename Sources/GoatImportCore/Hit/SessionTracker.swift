#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CIntrinsics

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
    /// The visitor hash under this tracker's key, as a value for parse lanes to copy.
    public var visitorHash: VisitorHash { VisitorHash(key: key) }
    private let visits: VisitTable
    private var newest = Int.min
    private let hex = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)
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
        visits = VisitTable(gap: gap)
    }

    deinit { hex.deallocate() }

    /// The id of the visit this hit belongs to, as 16 hex digits (valid until the next call).
    public func session(ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer, time: Int) -> UnsafeBufferPointer<UInt8> {
        session(visitor: visitor(ip: ip, userAgent: userAgent), time: time)
    }

    /// The keyed hash of one visitor: the costly half of `session`, which parse lanes compute
    /// in parallel (it depends on nothing but the line).
    public func visitor(ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer) -> UInt64 {
        VisitorHash(key: key)(ip: ip, userAgent: userAgent)
    }

    /// The visit of `visitor` at `time`: the ordered half of `session`, called in log order.
    public func session(visitor: UInt64, time: Int) -> UnsafeBufferPointer<UInt8> {
        guard isShared else { return lookUp(visitor, time: time) }
        lock.lock()
        defer { lock.unlock() }
        return lookUp(visitor, time: time)
    }

    private func lookUp(_ visitor: UInt64, time: Int) -> UnsafeBufferPointer<UInt8> {
        newest = max(newest, time)
        let v = visits.find(visitor, at: time, dropIdleBefore: idleCutoff)
        let value: UInt64
        if v.found, time - v.last <= gap, time >= v.start - gap {
            if time > v.last { visits.store(v, key: visitor, start: v.start, last: time) }
            value = visitID(visitor, start: v.start)
        } else {
            value = visitID(visitor, start: time)
            visits.store(v, key: visitor, start: time, last: time)
        }
        UnsafeMutableRawPointer(hex).storeBytes(of: Self.hex8(UInt32(truncatingIfNeeded: value >> 32)), as: UInt64.self)
        UnsafeMutableRawPointer(hex + 8).storeBytes(of: Self.hex8(UInt32(truncatingIfNeeded: value)), as: UInt64.self)
        return UnsafeBufferPointer(start: hex, count: 16)
    }

    /// Eight lowercase hex digits of `x`, most significant first in memory, a word at a time
    /// (the ordered merge writes one id per hit).
    @inline(__always) static func hex8(_ x: UInt32) -> UInt64 {
        var v = UInt64(x)
        v = (v | v << 16) & 0x0000_FFFF_0000_FFFF
        v = (v | v << 8) & 0x00FF_00FF_00FF_00FF
        v = (v | v << 4) & 0x0F0F_0F0F_0F0F_0F0F     // byte i holds nibble i, least first
        let letters = ((v &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return (v &+ 0x3030_3030_3030_3030 &+ letters &* 0x27).bigEndian
    }

    /// A visit's id: the keyed hash of its visitor and start.
    @inline(__always) private func visitID(_ visitor: UInt64, start: Int) -> UInt64 {
        var id = SipHash(key: key)
        id.add(word: visitor)
        id.add(word: UInt64(bitPattern: Int64(start)))
        return id.finish()
    }

    /// Starts bringing the table slot of a visitor that `session(visitor:time:)` will look up
    /// soon into the cache, and returns at once: the cache miss (most new visitors' slots miss)
    /// then overlaps with the work done before the lookup. Only speed depends on it.
    @inline(__always) public func warm(_ visitor: UInt64) {
        if isShared { lock.lock(); defer { lock.unlock() }; visits.prefetch(visitor); return }
        visits.prefetch(visitor)
    }

    /// Visits quiet for longer than the gap (in log time) are closed and forgotten.
    public func prune() { visits.prune(dropIdleBefore: idleCutoff) }

    /// Visits last seen before this are closed. Saturating: before the first hit `newest` is
    /// `Int.min` (a run that sends nothing still saves its visits), and log times are untrusted.
    private var idleCutoff: Int {
        let (cutoff, overflow) = newest.subtractingReportingOverflow(gap)
        return overflow ? Int.min : cutoff
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
        try AtomicFile.write(savedJSON(), to: path)
    }

    /// The `Saved` JSON, written straight from the table: through `[String: [Int]]` and
    /// `JSONEncoder`, every save of a million open visits built a dictionary of a million
    /// strings and arrays first.
    func savedJSON() -> Data {
        var data = Data(capacity: 64 + openVisits * 48)
        data.append(contentsOf: Array("{\"version\":1,\"gap\":\(gap),\"visits\":{".utf8))
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buf in
            var separator: UInt8 = 0
            visits.forEach { visitor, start, last in
                var n = 0
                if separator != 0 { buf[n] = separator; n += 1 }
                separator = UInt8(ascii: ",")
                buf[n] = UInt8(ascii: "\""); n += 1
                var digits = 1
                while digits < 16 && visitor >> UInt64(4 * digits) != 0 { digits += 1 }
                for i in stride(from: digits - 1, through: 0, by: -1) {
                    buf[n] = JSONString.hexDigit(UInt8(truncatingIfNeeded: visitor >> UInt64(4 * i)) & 0xF); n += 1
                }
                for b in "\":[".utf8 { buf[n] = b; n += 1 }
                n = Self.decimal(start, into: buf, at: n)
                buf[n] = UInt8(ascii: ","); n += 1
                n = Self.decimal(last, into: buf, at: n)
                buf[n] = UInt8(ascii: "]"); n += 1
                data.append(buf.baseAddress!, count: n)
            }
        }
        data.append(contentsOf: Array("}}".utf8))
        return data
    }

    /// Writes `value` in decimal at `at` (at most 20 bytes) and returns the end.
    private static func decimal(_ value: Int, into buf: UnsafeMutableBufferPointer<UInt8>, at: Int) -> Int {
        var n = at
        if value < 0 { buf[n] = UInt8(ascii: "-"); n += 1 }
        var m = value.magnitude, digits = 1
        while m >= 10 { m /= 10; digits += 1 }
        m = value.magnitude
        for i in stride(from: n + digits - 1, through: n, by: -1) { buf[i] = UInt8(ascii: "0") + UInt8(m % 10); m /= 10 }
        return n + digits
    }

    public func load(from path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SessionError("\(path): cannot read it; check its owner and mode (0600)")
        }
        let impossible = SessionError("\(path): a visit with an impossible time; move the file away to start the visits afresh")
        // Times are seconds since 1970: anything beyond ±2^40 (35,000 years) was not written here.
        let possible = -(1 << 40)...(1 << 40)
        var fileNewest = newest
        let shapeKnown = try data.withUnsafeBytes { raw in
            try SavedVisitsReader.read(raw) { _, start, last in
                guard possible.contains(start), possible.contains(last) else { throw impossible }
                fileNewest = max(fileNewest, last)
            } != nil
        }
        if shapeKnown {
            // The newest time first places the table's window: the visits then fit in it.
            newest = fileNewest
            data.withUnsafeBytes { raw in
                _ = SavedVisitsReader.read(raw) { key, start, last in
                    visits.store(visits.find(key, at: newest, dropIdleBefore: Int.min), key: key, start: start, last: last)
                }
            }
            return
        }
        guard let saved = try? JSONDecoder().decode(Saved.self, from: data) else {
            throw SessionError("\(path): not a goatimport sessions file; move it away to start the visits afresh")
        }
        var loaded: [(key: UInt64, start: Int, last: Int)] = []
        for (visitor, v) in saved.visits where v.count == 2 {
            guard let key = UInt64(visitor, radix: 16) else { continue }
            guard v.allSatisfy(possible.contains) else { throw impossible }
            newest = max(newest, v[1])
            loaded.append((key, v[0], v[1]))
        }
        // The newest time first places the table's window: the visits then fit in it.
        for v in loaded { visits.store(visits.find(v.key, at: newest, dropIdleBefore: Int.min), key: v.key, start: v.start, last: v.last) }
    }

    /// The open visits' file and the secret's, beside the state file.
    public static let visitsFileName = "sessions.json"
    public static let secretFileName = "session-secret"

    /// The key of dry runs: fixed, so that a dry run's output depends on its input only.
    public static let dryRunSecret = Array("goatimport dry run, no secret...".utf8)

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


/// The keyed hash of one visitor (IP, a zero byte, user agent). A value: each parse lane keeps
/// its own copy, where calling through the tracker that every lane shares cost a retain and a
/// release per hit on one object from every core.
public struct VisitorHash {
    let key: (UInt64, UInt64)

    @inline(__always) public func callAsFunction(ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer) -> UInt64 {
        var h = SipHash(key: key)
        h.add(ip)
        h.add(byte: 0)
        h.add(userAgent)
        return h.finish()
    }
}

/// SipHash-2-4: a keyed hash that is a pseudo-random function under its key. The rounds are
/// `goat_sip_*` in CIntrinsics (the same loop in Swift ran at two thirds of the speed).
struct SipHash {
    private var state = goat_sip()

    @inline(__always) init(key: (UInt64, UInt64)) { goat_sip_init(&state, key.0, key.1) }

    @inline(__always) mutating func add(byte: UInt8) {
        var b = byte
        goat_sip_add(&state, &b, 1)
    }

    @inline(__always) mutating func add(_ bytes: UnsafeRawBufferPointer) {
        goat_sip_add(&state, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    @inline(__always) mutating func add(word: UInt64) {
        var w = word.littleEndian
        withUnsafeBytes(of: &w) { add($0) }
    }

    @inline(__always) mutating func finish() -> UInt64 { goat_sip_finish(&state) }
}
