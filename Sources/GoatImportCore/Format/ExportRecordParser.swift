/// The `goatcounter-csv` format's place among the line parsers. The importer maps an export's
/// rows itself (`Importer+ExportRows`); this parser serves what treats every format alike:
/// `check`'s match rate, and auto-detection, which picks the format by its header line.
public final class ExportRecordParser: LineParser {
    public static let format = LogFormat(
        name: "goatcounter-csv",
        summary: "GoatCounter's own CSV export (format version 2, header 2Path,Title,Event,…), plain or gzipped",
        body: .goatcounterCSV, escapes: .none)

    static let fields: Set<LogField> = [.path, .timeISO8601, .userAgent, .referer]

    public let escapes = EscapeStyle.none
    public let hasUserAgentField = true
    public private(set) var matchEnd = 0
    private let csv = CSVFields()
    private let row = ExportRowHit()

    public init() {}

    /// A line is read when it is a whole row (a row with a line break in a quoted field spans
    /// lines: only the importer joins them). Spans are not filled: the row is re-read there.
    public func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool {
        fields.clear()
        guard csv.split(line, count) == nil, case .success = row.time(csv) else { return false }
        matchEnd = count
        return true
    }
}
