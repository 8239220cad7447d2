import Foundation

/// A log format: how to find the fields in a line. Built-in formats are read from the
/// `.format` files in `formats/` (embedded at build time); users give their server's own
/// format string or a pattern.
public struct LogFormat: Sendable {
    public enum Body: Sendable {
        /// A PCRE2 pattern in pieces: one piece per field or literal run, so that `check` can
        /// tell how far a line matched. `extended` is PCRE2_EXTENDED (whitespace ignored).
        case regex(segments: [String], extended: Bool)
        /// JSON lines: for each field, the key paths to read, in order of preference. With a
        /// prefix (a PCRE2 extended pattern), the object follows that text on the line.
        case json([(field: LogField, paths: [[String]])], prefix: String? = nil)
        /// W3C extended logs: the columns come from the `#Fields:` directives in the log itself.
        case w3c
        /// GoatCounter's own CSV export: records, not lines (`CSVRecordReader`, `ExportRowHit`).
        case goatcounterCSV
    }

    public let name: String
    public let summary: String
    public let body: Body
    public let escapes: EscapeStyle
    public let userAgentEscapes: UserAgentEscapes
    /// Lines starting with `#` are directives (`#Version`, `#Fields`…): skipped and counted
    /// apart, not malformed.
    public let directives: Bool

    public init(name: String, summary: String, body: Body, escapes: EscapeStyle,
                userAgentEscapes: UserAgentEscapes = .none, directives: Bool = false) {
        self.name = name
        self.summary = summary
        self.body = body
        self.escapes = escapes
        self.userAgentEscapes = userAgentEscapes
        self.directives = directives
    }

    /// Whether a line's fields depend on lines before it (W3C's `#Fields:`): such a log is
    /// parsed in order, on one thread.
    public var readsInOrder: Bool {
        switch body {
        case .w3c, .goatcounterCSV: return true
        default: return false
        }
    }

    /// Whether this is the export format, whose rows the importer maps itself.
    public var isGoatCounterCSV: Bool {
        if case .goatcounterCSV = body { return true }
        return false
    }

    /// The full pattern (regex formats) or mapping (JSON formats), as a user would debug it.
    public var patternText: String {
        switch body {
        case .regex(let segments, let extended):
            return extended ? segments.joined(separator: "\n") : segments.joined()
        case .json(let mapping, let prefix):
            let keys = mapping.map { "\($0.field.name): \($0.paths.map { $0.joined(separator: ".") }.joined(separator: ", "))" }
            return ((prefix.map { ["prefix: " + $0] } ?? []) + keys).joined(separator: "\n")
        case .w3c:
            return "columns from each #Fields: directive; read: "
                + W3CFieldNames.fields.keys.sorted().joined(separator: " ")
        case .goatcounterCSV:
            return "CSV format version 2, header " + ExportRowHit.columns.joined(separator: ",")
        }
    }

    /// A parser for one thread.
    public func makeParser() throws -> LineParser {
        switch body {
        case .regex(let segments, let extended):
            return try RegexLineParser(pattern: segments.joined(separator: extended ? "\n" : ""),
                                       extended: extended, escapes: escapes)
        case .json(let mapping, nil):
            return JSONLineParser(mapping: mapping)
        case .json(let mapping, let prefix?):
            return try PrefixedJSONLineParser(prefix: prefix, mapping: mapping)
        case .w3c:
            return W3CLineParser()
        case .goatcounterCSV:
            return ExportRecordParser()
        }
    }

    /// The fields a line of this format can carry.
    public func fields() throws -> Set<LogField> {
        switch body {
        case .regex:
            return (try makeParser() as! RegexLineParser).fields
        case .json(let mapping, nil):
            return Set(mapping.map(\.field))
        case .json(_, _?):
            return (try makeParser() as! PrefixedJSONLineParser).fields
        case .w3c:
            return W3CLineParser.knownFields
        case .goatcounterCSV:
            return ExportRecordParser.fields
        }
    }

    /// Checks that the format can produce hits at all.
    public func validate() throws {
        let fields = try fields()
        if fields.isDisjoint(with: [.request, .uri, .path]) { throw FormatError.noPath }
    }
}

extension LogFormat {
    /// Resolves a `--format` argument: a built-in name, `nginx:'…'`, `apache:'…'`,
    /// `regex:'…'` or `@file`.
    public static func resolve(_ spec: String) throws -> LogFormat {
        if let builtin = BuiltinFormats.all.first(where: { $0.name == spec }) { return builtin }
        if let rest = spec.dropPrefix("nginx:") {
            return try NginxFormatTranslator.translate(rest)
        }
        if let rest = spec.dropPrefix("apache:") {
            return try ApacheFormatTranslator.translate(rest)
        }
        if let rest = spec.dropPrefix("regex:") {
            let format = LogFormat(name: "regex", summary: "user pattern", body: .regex(segments: [rest], extended: false),
                                   escapes: .backslash)
            try format.validate()
            return format
        }
        if let path = spec.dropPrefix("@") {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw FormatError.unsupported("\(path): cannot read format file (\(error.localizedDescription))")
            }
            if let pasted = try PastedFormat.resolve(text, path: path) { return pasted }
            let format = try FormatFile.parse(text, name: path)
            try format.validate()
            return format
        }
        throw FormatError.unknownFormat(spec, known: BuiltinFormats.all.map(\.name))
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
