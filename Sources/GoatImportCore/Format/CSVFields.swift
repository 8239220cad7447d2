#if canImport(Glibc)
import Glibc
#endif

/// The fields of one CSV record, unquoted, as Go's `encoding/csv` reads them (strict quotes):
/// a quoted field starts with `"`, holds `""` for a quote and may hold commas and newlines.
/// The bytes of all fields go into one reused buffer; no String per record.
public final class CSVFields {
    public let bytes = ByteBuffer(capacity: 4096)
    private var bounds: [Int] = []

    public init() {}

    public var count: Int { bounds.count / 2 }

    @inline(__always)
    public func field(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        guard i < count else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: bytes.base + bounds[2 * i], count: bounds[2 * i + 1] - bounds[2 * i])
    }

    public func string(_ i: Int) -> String { String(decoding: field(i), as: UTF8.self) }

    @inline(__always)
    public func equals(_ i: Int, _ text: StaticString) -> Bool {
        let f = field(i)
        return f.count == text.utf8CodeUnitCount && (f.count == 0 || memcmp(f.baseAddress!, text.utf8Start, f.count) == 0)
    }

    /// Splits a record (without its final newline); the reason when it is not valid CSV.
    public func split(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        bytes.removeAll()
        bounds.removeAll(keepingCapacity: true)
        var i = 0
        while true {
            let start = bytes.count
            if i < n && p[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < n {
                    if p[i] == UInt8(ascii: "\"") {
                        if i + 1 < n && p[i + 1] == UInt8(ascii: "\"") { bytes.append(p[i]); i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    bytes.append(p[i])
                    i += 1
                }
                if !closed { return "a quoted field is not closed" }
                if i < n && p[i] != UInt8(ascii: ",") { return "text after a quoted field's closing quote" }
            } else {
                while i < n && p[i] != UInt8(ascii: ",") {
                    if p[i] == UInt8(ascii: "\"") { return "a quote inside an unquoted field" }
                    bytes.append(p[i])
                    i += 1
                }
            }
            bounds.append(start)
            bounds.append(bytes.count)
            if i >= n { return nil }
            i += 1   // the comma
        }
    }
}
