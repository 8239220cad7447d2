/// Joins the physical lines of a CSV stream into records: a quoted field may hold line breaks
/// (a page title with a newline), so one record can span several lines.
///
/// A record goes on to the next line while a quoted field is open: a quote opens one only at
/// the start of a field (a stray quote inside an unquoted field does not, so it cannot swallow
/// the rows after it), and `""` inside one is a quote. Each record is handed out as one `Line` whose `endOffset` and `number` are
/// those of its last physical line, so a checkpoint taken after it always falls on a record
/// boundary and a resumed `LineReader` counts lines as before. `firstLine` is the line the
/// record starts on, for messages.
public final class CSVRecordReader {
    private let lines: LineReader
    private let joined = ByteBuffer(capacity: 4096)
    /// A record whose quote never closes stops growing here and is handed out as it is (the
    /// row mapping then reports it): a stray quote must not swallow the rest of the file.
    public let maxRecordLength: Int
    public private(set) var firstLine = 0

    public init(lines: LineReader, maxRecordLength: Int) {
        self.lines = lines
        self.maxRecordLength = maxRecordLength
    }

    public func next() throws -> Line? {
        guard let first = try lines.next() else { return nil }
        firstLine = first.number
        var open = Self.endsInQuotes(first.base, first.count, inQuotes: false)
        guard open else { return first }
        joined.removeAll()
        joined.append(first.base, count: first.count)
        var last = first
        while open, joined.count <= maxRecordLength, let more = try lines.next() {
            joined.append(0x0A)
            joined.append(more.base, count: more.count)
            open = Self.endsInQuotes(more.base, more.count, inQuotes: true)
            last = more
        }
        return Line(base: UnsafePointer(joined.base), count: joined.count, number: last.number, endOffset: last.endOffset)
    }

    /// Whether a quoted field is still open at the end of a line that starts in the given state.
    @inline(__always)
    static func endsInQuotes(_ p: UnsafePointer<UInt8>, _ count: Int, inQuotes: Bool) -> Bool {
        var quoted = inQuotes
        var fieldStart = !inQuotes
        var i = 0
        while i < count {
            let b = p[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < count && p[i + 1] == UInt8(ascii: "\"") { i += 1 } else { quoted = false }
                }
            } else if b == UInt8(ascii: "\"") && fieldStart {
                quoted = true
            }
            fieldStart = !quoted && b == UInt8(ascii: ",")
            i += 1
        }
        return quoted
    }
}
