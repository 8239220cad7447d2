/// `--format auto`: tries every built-in format on the first lines of a log and picks the one
/// that reads the most of them. A line counts when it parses and becomes a pageview (path and
/// time readable). Ties go to the format that reads more fields (combined over common), then
/// to the one that accounts for more of each line (traefik over combined, whose pattern is a
/// prefix of traefik's), then to the earlier format in `goatimport formats`.
public enum FormatDetector {
    public struct Score: Sendable {
        public let format: LogFormat
        public let matched: Int
        public let fields: Int
        public let bytes: Int
        /// The fields it read on at least one of the lines it read.
        public var read: Set<LogField> = []
    }

    public struct Result: Sendable {
        /// Best first.
        public let scores: [Score]
        /// Lines tried (directive lines are not counted).
        public let sampled: Int
        /// Chosen by the input's first line (a GoatCounter export's header), not by scores.
        public var byHeader = false

        /// The chosen format; nil when no format read a single line.
        public var format: LogFormat? { scores.first.flatMap { $0.matched > 0 ? $0.format : nil } }

        /// `combined-vhost (50/50 lines, 9 fields; next: combined 0/50)`
        public var explanation: String {
            guard let best = scores.first else { return "no formats" }
            if byHeader { return "\(best.format.name) (its header line: a GoatCounter export)" }
            var text = "\(best.format.name) (\(best.matched)/\(sampled) lines, \(best.fields) fields"
            if scores.count > 1 { text += "; next: \(scores[1].format.name) \(scores[1].matched)/\(sampled)" }
            return text + ")"
        }
    }

    public static func detect(_ lines: [[UInt8]], among formats: [LogFormat] = BuiltinFormats.all) -> Result {
        // An export names itself: its rows (one may span lines) are no access log's.
        if let first = lines.first, first.withUnsafeBufferPointer({ ExportRowHit.isHeader($0.baseAddress!, $0.count) }),
           let csv = formats.first(where: \.isGoatCounterCSV) {
            var result = Result(scores: [Score(format: csv, matched: lines.count, fields: ExportRowHit.columns.count, bytes: 0)],
                                sampled: lines.count)
            result.byHeader = true
            return result
        }
        let sampled = lines.filter { $0.first != UInt8(ascii: "#") }.count
        var scores: [(order: Int, score: Score)] = []
        for (order, format) in formats.enumerated() {
            guard let parser = try? format.makeParser() else { continue }
            scores.append((order, score(format, parser, lines)))
        }
        scores.sort { a, b in
            let x = a.score, y = b.score
            if x.matched != y.matched { return x.matched > y.matched }
            if x.fields != y.fields { return x.fields > y.fields }
            if x.bytes != y.bytes { return x.bytes > y.bytes }
            return a.order < b.order
        }
        return Result(scores: scores.map(\.score), sampled: sampled)
    }

    static func score(_ format: LogFormat, _ parser: LineParser, _ lines: [[UInt8]]) -> Score {
        let fields = ParsedFields()
        let builder = PageviewBuilder()
        var pv = Pageview()
        var matched = 0, bytes = 0
        var seen = Set<LogField>()
        for line in lines {
            line.withUnsafeBufferPointer { buffer in
                let base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
                guard parser.parse(base, buffer.count, into: fields), line.first != UInt8(ascii: "#"),
                      builder.build(base, fields, into: &pv) == nil else { return }
                matched += 1
                bytes += parser.matchEnd
                for field in LogField.allCases where fields.has(field) { seen.insert(field) }
            }
        }
        return Score(format: format, matched: matched, fields: seen.count, bytes: bytes, read: seen)
    }
}
