/// The importer's seam for `goatcounter-csv`: an export's records (rows, some spanning lines)
/// go through their own mapping to hits, and then into the same sink as log lines, so
/// checkpoints, batches, pacing, the summary and `--dry-run` are the log pipeline's own.
///
/// Of the filters only `--since`/`--until` apply (to a row's Date): an export holds what
/// GoatCounter already counted, so static files, methods, statuses and bots are not in it as
/// such (bot rows carry their `Bot` hint and the server keeps them apart, as it did).
extension Importer {
    final class ExportRows {
        let csv = CSVFields()
        let row = ExportRowHit()
    }

    func consumeExport(_ lines: LineReader, rows: ExportRows, input: Int, name: String, checked: CheckedInput?,
                       into sink: HitSink, summary: inout ImportSummary) throws {
        let records = CSVRecordReader(lines: lines, maxRecordLength: options.maxLineLength)
        while let record = try records.next() {
            if let checked { sink.note(mark: checked.mark(after: record.number, at: record.endOffset)) }
            summary.lines += 1
            let position = LinePosition(input: input, line: record.number, endOffset: record.endOffset)
            func malformed(_ reason: String) throws {
                summary[.malformed] += 1
                options.onMalformed?(name, records.firstLine, reason, Self.text(record))
                try sink.didSkipLine(at: position, reason: .malformed)
            }
            if let problem = rows.csv.split(record.base, record.count) {
                try malformed(problem)
                continue
            }
            // The header starts the file, and again where exports were concatenated.
            if records.firstLine == 1 || ExportRowHit.isHeader(record.base, record.count) {
                switch ExportRowHit.header(rows.csv) {
                case .version2:
                    summary[.directive] += 1
                    try sink.didSkipLine(at: position, reason: .directive)
                    continue
                case .unknown(let what):
                    throw ExportHeaderError(file: name, what: what)
                case .notHeader:
                    break   // an export without its header line: its rows still read
                }
            }
            if rows.csv.count == 1 && rows.csv.field(0).isEmpty {
                summary[.malformed] += 1   // a blank line
                try sink.didSkipLine(at: position, reason: .malformed)
                continue
            }
            let time: Int
            switch rows.row.time(rows.csv) {
            case .failure(let problem): try malformed(problem.description); continue
            case .success(let t): time = t
            }
            if let since = options.filter.since, time < since {
                summary[.beforeSince] += 1
                try sink.didSkipLine(at: position, reason: .beforeSince)
                continue
            }
            if let until = options.filter.until, time >= until {
                summary[.afterUntil] += 1
                try sink.didSkipLine(at: position, reason: .afterUntil)
                continue
            }
            rows.row.encode(rows.csv, time: time, line: records.firstLine, into: try sink.bufferForNextHit(at: position))
            summary.hits += 1
            try sink.didEncodeHit(at: position)
        }
    }

    public struct ExportHeaderError: Error, CustomStringConvertible {
        public let file: String
        public let what: String
        public var description: String { "\(file): \(what)" }
    }
}
