#if canImport(Glibc)
import Glibc
#endif

/// Undoes the escaping a log writer applied to a string field, into a scratch buffer.
public enum Unescape {
    /// Whether a field needs decoding at all: most fields have no backslash.
    @inline(__always)
    public static func needed(_ p: UnsafePointer<UInt8>, _ count: Int, _ style: EscapeStyle) -> Bool {
        switch style {
        case .none: return false
        case .hash: return count > 0 && memchr(p, 0x23, count) != nil
        case .backslash, .json: return count > 0 && memchr(p, 0x5C, count) != nil
        }
    }

    @inline(__always)
    static func hex(_ c: UInt8) -> Int {
        switch c {
        case 48...57: return Int(c) - 48
        case 65...70: return Int(c) - 55
        case 97...102: return Int(c) - 87
        default: return -1
        }
    }

    /// Appends the decoded bytes of `p[0..<count]` to `out`.
    public static func decode(_ p: UnsafePointer<UInt8>, _ count: Int, _ style: EscapeStyle, into out: ByteBuffer) {
        out.reserve(count)
        if style == .hash { return decodeHex(p, count, marker: 0x23, into: out) }
        var i = 0
        while i < count {
            // The bytes up to the next backslash are copied in one piece (a Docker log line
            // is decoded whole: byte by byte it was a quarter of the run).
            guard let hit = memchr(p + i, 0x5C, count - i) else { return out.append(p + i, count: count - i) }
            let at = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
            if at > i { out.append(p + i, count: at - i); i = at }
            let c = p[i]
            guard i + 1 < count else { out.append(c); i += 1; continue }
            let e = p[i + 1]
            switch e {
            case UInt8(ascii: "x") where style == .backslash && i + 3 < count && hex(p[i + 2]) >= 0 && hex(p[i + 3]) >= 0:
                out.append(UInt8(hex(p[i + 2]) << 4 | hex(p[i + 3])))
                i += 4
            case UInt8(ascii: "u") where style == .json:
                i += decodeUnicode(p + i, count - i, into: out)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(e); i += 2
            case UInt8(ascii: "/") where style == .json:
                out.append(e); i += 2
            case UInt8(ascii: "n"): out.append(0x0A); i += 2
            case UInt8(ascii: "r"): out.append(0x0D); i += 2
            case UInt8(ascii: "t"): out.append(0x09); i += 2
            case UInt8(ascii: "b"): out.append(0x08); i += 2
            case UInt8(ascii: "f"): out.append(0x0C); i += 2
            case UInt8(ascii: "v") where style == .backslash: out.append(0x0B); i += 2
            default:
                // Not an escape this writer produces: keep it as written.
                out.append(c); i += 1
            }
        }
    }

    /// `<marker>XX` as one byte; a marker not followed by two hex digits stays as written.
    static func decodeHex(_ p: UnsafePointer<UInt8>, _ count: Int, marker: UInt8, into out: ByteBuffer) {
        var i = 0
        while i < count {
            if p[i] == marker, i + 2 < count, hex(p[i + 1]) >= 0, hex(p[i + 2]) >= 0 {
                out.append(UInt8(hex(p[i + 1]) << 4 | hex(p[i + 2])))
                i += 3
            } else {
                out.append(p[i])
                i += 1
            }
        }
    }

    /// Whether a user agent needs `decodeUserAgent` at all.
    @inline(__always)
    public static func needed(_ p: UnsafePointer<UInt8>, _ count: Int, _ style: UserAgentEscapes) -> Bool {
        switch style {
        case .none: return false
        case .plus: return count > 0 && memchr(p, 0x2B, count) != nil
        case .percent: return count > 0 && memchr(p, 0x25, count) != nil
        }
    }

    /// Undoes the encoding that kept spaces out of a user agent column. CloudFront once encoded
    /// its own `%` again (`%2520`); a `%25` before two hex digits is therefore decoded twice,
    /// which no real user agent is hurt by.
    public static func decodeUserAgent(_ p: UnsafePointer<UInt8>, _ count: Int, _ style: UserAgentEscapes, into out: ByteBuffer) {
        out.reserve(count)
        switch style {
        case .none:
            out.append(p, count: count)
        case .plus:
            for i in 0..<count { out.append(p[i] == 0x2B ? 0x20 : p[i]) }
        case .percent:
            var i = 0
            while i < count {
                if p[i] == 0x25, i + 4 < count, p[i + 1] == 0x32, p[i + 2] == 0x35, hex(p[i + 3]) >= 0, hex(p[i + 4]) >= 0 {
                    out.append(UInt8(hex(p[i + 3]) << 4 | hex(p[i + 4])))
                    i += 5
                } else if p[i] == 0x25, i + 2 < count, hex(p[i + 1]) >= 0, hex(p[i + 2]) >= 0 {
                    out.append(UInt8(hex(p[i + 1]) << 4 | hex(p[i + 2])))
                    i += 3
                } else {
                    out.append(p[i])
                    i += 1
                }
            }
        }
    }

    /// `\uXXXX`, with surrogate pairs; a lone surrogate becomes U+FFFD. Returns bytes consumed.
    private static func decodeUnicode(_ p: UnsafePointer<UInt8>, _ count: Int, into out: ByteBuffer) -> Int {
        func unit(_ q: UnsafePointer<UInt8>) -> Int? {
            var v = 0
            for k in 0..<4 { let h = hex(q[k]); if h < 0 { return nil }; v = v << 4 | h }
            return v
        }
        guard count >= 6, let u = unit(p + 2) else { out.append(p[0]); return 1 }
        var scalar = u
        var used = 6
        if u >= 0xD800 && u <= 0xDBFF {
            if count >= 12, p[6] == 0x5C, p[7] == UInt8(ascii: "u"), let low = unit(p + 8), low >= 0xDC00 && low <= 0xDFFF {
                scalar = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                used = 12
            } else { scalar = 0xFFFD }
        } else if u >= 0xDC00 && u <= 0xDFFF { scalar = 0xFFFD }
        appendUTF8(scalar, to: out)
        return used
    }

    static func appendUTF8(_ v: Int, to out: ByteBuffer) {
        switch v {
        case ..<0x80: out.append(UInt8(v))
        case ..<0x800:
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        case ..<0x10000:
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | (v >> 6) & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | (v >> 12) & 0x3F))
            out.append(UInt8(0x80 | (v >> 6) & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }
}
