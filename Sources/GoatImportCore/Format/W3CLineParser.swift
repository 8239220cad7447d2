/// W3C extended log files (IIS): the columns are named by a `#Fields:` directive, and a file
/// may name them again further down (IIS writes a new header after each restart or change of
/// the logged fields), so the parser rebuilds its column map whenever it meets one.
///
/// A data line costs one pass over its bytes up to the last column that is read; the map is
/// only rebuilt on a directive line. Before any `#Fields:` (a file read from its middle) the
/// columns are IIS's default selection.
public final class W3CLineParser: LineParser {
    public let escapes: EscapeStyle = .none
    public private(set) var hasUserAgentField = false
    public private(set) var matchEnd = 0

    // Column index → LogField raw value, or -1 for a column that is not read.
    private var columns: UnsafeMutablePointer<Int>
    private var columnCapacity = 0
    private var lastColumn = -1

    public init() {
        columns = .allocate(capacity: 1)
        configure(Array(W3CFieldNames.iisDefault.utf8))
    }

    deinit { columns.deallocate() }

    /// Every field a W3C log can name, for formats that ask before reading a line.
    public static var knownFields: Set<LogField> { Set(W3CFieldNames.fields.values.map(\.field)) }

    public func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool {
        if count > 0 && line[0] == UInt8(ascii: "#") {
            if let names = Self.fieldsDirective(line, count) { configure(names) }
            return false
        }
        guard lastColumn >= 0 else { return false }
        fields.clear()
        var column = 0
        var i = 0
        while column <= lastColumn {
            guard i <= count else { return false }
            var j = i
            while j < count && line[j] != 0x20 && line[j] != 0x09 { j += 1 }
            let field = columns[column]
            if field >= 0 { fields.spans[2 * field] = i; fields.spans[2 * field + 1] = j }
            column += 1
            i = j + 1
        }
        matchEnd = min(i, count)
        return true
    }

    /// The names after `#Fields:`, or nil for another directive (`#Version`, `#Date`, …).
    static func fieldsDirective(_ line: UnsafePointer<UInt8>, _ count: Int) -> [UInt8]? {
        let tag = Array("#fields:".utf8)
        guard count >= tag.count else { return nil }
        for k in 0..<tag.count where line[k] | 0x20 != tag[k] | 0x20 { return nil }
        return Array(UnsafeBufferPointer(start: line + tag.count, count: count - tag.count))
    }

    private func configure(_ names: [UInt8]) {
        let list = String(decoding: names, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" })
        if list.count > columnCapacity {
            columns.deallocate()
            columns = .allocate(capacity: list.count)
            columnCapacity = list.count
        }
        var best: [LogField: (column: Int, rank: Int)] = [:]
        for (index, name) in list.enumerated() {
            columns[index] = -1
            guard let known = W3CFieldNames.fields[name.lowercased()] else { continue }
            if let other = best[known.field], other.rank <= known.rank { continue }
            best[known.field] = (index, known.rank)
        }
        for (field, place) in best { columns[place.column] = field.rawValue }
        lastColumn = best.values.map(\.column).max() ?? -1
        hasUserAgentField = best[.userAgent] != nil
    }
}
