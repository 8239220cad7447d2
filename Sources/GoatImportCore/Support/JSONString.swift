import CIntrinsics

/// Writes bytes as the contents of a JSON string: valid UTF-8 only, escaped, clipped to a
/// number of characters on a character boundary.
///
/// Log fields are bytes: nginx passes a client's raw bytes through. Invalid UTF-8 never
/// reaches the JSON: in URLs it is percent-encoded (as a browser would send it), elsewhere it
/// becomes U+FFFD. Characters are Unicode scalars, which is how GoatCounter's validator counts.
public enum JSONString {
    public enum Invalid { case percentEncode, replace }

    /// Appends the escaped contents (without quotes). Returns true when the value was clipped.
    @discardableResult
    public static func append(_ p: UnsafePointer<UInt8>, _ count: Int, maxCharacters: Int, invalid: Invalid,
                              to out: ByteBuffer) -> Bool {
        out.reserve(count + 16)
        var i = 0
        var chars = 0
        while i < count {
            // Runs of plain ASCII (no quote, backslash, control or high byte) are found sixteen
            // bytes at a time and copied in one go.
            let budget = min(count - i, maxCharacters - chars)
            let run = budget > 0 ? goat_find_json_special(p + i, 0, budget) : 0
            if run > 0 {
                out.append(p + i, count: run)
                i += run
                chars += run
                if i == count { break }
            }
            if chars >= maxCharacters { return true }
            let c = p[i]
            if c < 0x80 {
                switch c {
                case UInt8(ascii: "\""): out.append(0x5C); out.append(c)
                case UInt8(ascii: "\\"): out.append(0x5C); out.append(c)
                case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
                case ..<0x20:
                    out.append("\\u00")
                    out.append(hexDigit(c >> 4)); out.append(hexDigit(c & 0xF))
                default: out.append(c)
                }
                i += 1
                chars += 1
                continue
            }
            let length = validSequenceLength(p + i, count - i)
            if length > 0 {
                out.append(p + i, count: length)
                i += length
                chars += 1
            } else if invalid == .percentEncode {
                if chars + 3 > maxCharacters { return true }
                out.append(UInt8(ascii: "%")); out.append(hexDigit(c >> 4, upper: true)); out.append(hexDigit(c & 0xF, upper: true))
                i += 1
                chars += 3
            } else {
                out.append(0xEF); out.append(0xBF); out.append(0xBD)
                i += 1
                chars += 1
            }
        }
        return false
    }

    @inline(__always)
    static func hexDigit(_ v: UInt8, upper: Bool = false) -> UInt8 {
        v < 10 ? 48 + v : (upper ? 55 : 87) + v
    }

    /// Length of the well-formed UTF-8 sequence at `p` (RFC 3629: no overlongs, no surrogates,
    /// nothing past U+10FFFF), or 0.
    @inline(__always)
    static func validSequenceLength(_ p: UnsafePointer<UInt8>, _ available: Int) -> Int {
        let c = p[0]
        @inline(__always) func cont(_ k: Int) -> Bool { k < available && p[k] & 0xC0 == 0x80 }
        switch c {
        case 0xC2...0xDF:
            return cont(1) ? 2 : 0
        case 0xE0:
            return available > 2 && p[1] >= 0xA0 && p[1] <= 0xBF && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(1) && cont(2) ? 3 : 0
        case 0xED:
            return available > 2 && p[1] >= 0x80 && p[1] <= 0x9F && cont(2) ? 3 : 0
        case 0xF0:
            return available > 3 && p[1] >= 0x90 && p[1] <= 0xBF && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4:
            return available > 3 && p[1] >= 0x80 && p[1] <= 0x8F && cont(2) && cont(3) ? 4 : 0
        default:
            return 0
        }
    }
}
