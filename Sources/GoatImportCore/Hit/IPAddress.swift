#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address, IPv4 kept as an IPv4-mapped IPv6 address so one CIDR matcher serves both.
public struct IPAddress: Equatable, Sendable, CustomStringConvertible {
    public var bytes: (UInt64, UInt64)  // big-endian halves
    public let isV4: Bool

    public static func == (a: IPAddress, b: IPAddress) -> Bool { a.bytes == b.bytes && a.isV4 == b.isV4 }

    /// Parses `1.2.3.4`, `::1`, `[::1]`, `1.2.3.4:5678` and `[::1]:443` (the port is ignored).
    public init?(_ p: UnsafePointer<UInt8>, _ count: Int) {
        guard let span = IPAddress.hostSpan(p, count), span.count > 0, span.count < 46 else { return nil }
        var text = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))  // 48 bytes, NUL-terminated
        var raw = (UInt64(0), UInt64(0))
        let parsed: (Int32, Bool) = withUnsafeMutableBytes(of: &text) { t in
            t.baseAddress!.copyMemory(from: p + span.start, byteCount: span.count)
            let cs = t.baseAddress!.assumingMemoryBound(to: CChar.self)
            return withUnsafeMutableBytes(of: &raw) { r in
                if inet_pton(AF_INET6, cs, r.baseAddress) == 1 { return (1, false) }
                var v4 = in_addr()
                guard inet_pton(AF_INET, cs, &v4) == 1 else { return (0, false) }
                r.storeBytes(of: 0, toByteOffset: 0, as: UInt64.self)
                r.storeBytes(of: UInt32(0xFFFF).bigEndian, toByteOffset: 8, as: UInt32.self)
                r.storeBytes(of: v4.s_addr, toByteOffset: 12, as: UInt32.self)
                return (1, true)
            }
        }
        guard parsed.0 == 1 else { return nil }
        bytes = (UInt64(bigEndian: raw.0), UInt64(bigEndian: raw.1))
        isV4 = parsed.1
    }

    public init?(_ string: String) {
        var s = string
        guard let ip = s.withUTF8({ IPAddress($0.baseAddress!, $0.count) }) else { return nil }
        self = ip
    }

    /// The address part of `host`, `host:port`, `[v6]` or `[v6]:port`: what GoatCounter wants in `ip`.
    @inline(__always)
    public static func hostSpan(_ p: UnsafePointer<UInt8>, _ count: Int) -> (start: Int, count: Int)? {
        guard count > 0 else { return nil }
        if p[0] == UInt8(ascii: "[") {
            var i = 1
            while i < count, p[i] != UInt8(ascii: "]") { i += 1 }
            return i < count ? (1, i - 1) : nil
        }
        var colons = 0
        var lastColon = -1
        for i in 0..<count where p[i] == UInt8(ascii: ":") { colons += 1; lastColon = i }
        // One colon: IPv4 with a port. More: a bare IPv6 address.
        return colons == 1 ? (0, lastColon) : (0, count)
    }

    /// Loopback, private, link-local, carrier-grade NAT, unspecified or documentation-free
    /// ranges: addresses a proxy chain adds but that say nothing of the visitor.
    public var isPrivate: Bool {
        let (hi, lo) = bytes
        if isV4 {
            let v = UInt32(truncatingIfNeeded: lo)
            let a = v >> 24, b = (v >> 16) & 0xFF
            return a == 10 || a == 127 || a == 0 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168)
                || (a == 169 && b == 254) || (a == 100 && b >= 64 && b <= 127)
        }
        if hi == 0 && (lo == 1 || lo == 0) { return true }   // ::1, ::
        let top = hi >> 48
        return top & 0xFE00 == 0xFC00 || top & 0xFFC0 == 0xFE80  // fc00::/7, fe80::/10
    }

    public var description: String {
        var raw = (bytes.0.bigEndian, bytes.1.bigEndian)
        var out = [CChar](repeating: 0, count: 64)
        withUnsafeBytes(of: &raw) { r in
            if isV4 { _ = inet_ntop(AF_INET, r.baseAddress! + 12, &out, 64) } else { _ = inet_ntop(AF_INET6, r.baseAddress, &out, 64) }
        }
        return String(cString: out)
    }
}

/// A network such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a /32 or /128.
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    public let address: IPAddress
    public let prefix: Int  // in IPv6 bits (IPv4 prefixes are stored + 96)

    public init?(_ spec: String) {
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        let maxBits = address.isV4 ? 32 : 128
        var bits = maxBits
        if parts.count == 2 {
            guard let b = Int(parts[1]), b >= 0, b <= maxBits else { return nil }
            bits = b
        }
        self.address = address
        self.prefix = address.isV4 ? bits + 96 : bits
    }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.isV4 == address.isV4 else { return false }
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~0 << (64 - bits) }
        let hiMask = mask(prefix), loMask = mask(prefix - 64)
        return ip.bytes.0 & hiMask == address.bytes.0 & hiMask && ip.bytes.1 & loMask == address.bytes.1 & loMask
    }

    public var description: String { "\(address)/\(address.isV4 ? prefix - 96 : prefix)" }
}
