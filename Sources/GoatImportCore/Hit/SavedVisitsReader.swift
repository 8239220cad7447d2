#if canImport(Glibc)
import Glibc
#endif

/// Reads `sessions.json` in the one shape goatimport writes it (`SessionTracker.savedJSON`,
/// and `JSONEncoder` before it: no whitespace, `{"version":1,"gap":N,"visits":{"hex":[start,
/// last],…}}`, the three members in any order), visit by visit. `JSONDecoder` builds a
/// dictionary of a million strings and arrays for a million open visits (6 s and 400 MB at the
/// start of a run); this reads them in place. Any other shape it leaves to `JSONDecoder`.
struct SavedVisitsReader {
    private let p: UnsafeRawBufferPointer
    private var i = 0

    /// Calls `body` with each visit (visitor, start, last) and returns the gap; nil, part way
    /// or before any call, when the bytes are not of that shape.
    static func read(_ bytes: UnsafeRawBufferPointer, _ body: (UInt64, Int, Int) throws -> Void) rethrows -> Int? {
        var r = SavedVisitsReader(p: bytes)
        return try r.document(body)
    }

    private init(p: UnsafeRawBufferPointer) { self.p = p }

    private mutating func document(_ body: (UInt64, Int, Int) throws -> Void) rethrows -> Int? {
        guard take("{") else { return nil }
        var version: Int?, gap: Int?, visits = false
        repeat {
            if take("\"version\":"), version == nil { version = integer() }
            else if take("\"gap\":"), gap == nil { gap = integer() }
            else if take("\"visits\":{"), !visits {
                visits = true
                if !take("}") {
                    repeat {
                        guard let visitor = hex(), take(":["), let start = integer(), take(","),
                              let last = integer(), take("]") else { return nil }
                        try body(visitor, start, last)
                    } while take(",")
                    guard take("}") else { return nil }
                }
            } else { return nil }
        } while take(",")
        guard take("}"), i == p.count, version == 1, visits, let gap else { return nil }
        return gap
    }

    private mutating func take(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= p.count, memcmp(p.baseAddress! + i, s.utf8Start, n) == 0 else { return false }
        i += n
        return true
    }

    /// `"` 1 to 16 hex digits `"`.
    private mutating func hex() -> UInt64? {
        guard take("\"") else { return nil }
        var v: UInt64 = 0, n = 0
        while i < p.count, n <= 16 {
            let c = p[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default:
                guard n >= 1, n <= 16, take("\"") else { return nil }
                return v
            }
            v = v << 4 | UInt64(d)
            i += 1
            n += 1
        }
        return nil
    }

    /// An optional minus and 1 to 19 digits that fit an Int.
    private mutating func integer() -> Int? {
        let negative = take("-")
        var v = 0, n = 0
        while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(p[i] - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            v = a
            i += 1
            n += 1
        }
        return n == 0 ? nil : (negative ? -v : v)
    }
}
