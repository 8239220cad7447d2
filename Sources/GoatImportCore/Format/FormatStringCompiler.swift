/// Builds a PCRE2 pattern from a server's format string, once the translator for that server
/// has split it into literals and variables. nginx `log_format` and Apache `LogFormat` share it.
struct FormatStringCompiler {
    enum Token {
        case literal(String)
        /// `pattern` is what the variable's value looks like when it is not inside quotes or
        /// brackets; nil means "anything up to what follows".
        case variable(display: String, field: LogField?, pattern: String?)
    }

    static let quoted = #"[^"\\]*(?:\\.[^"\\]*)*"#

    /// One segment per variable (with the literal before it) so `check` can report how far a line got.
    static func compile(_ tokens: [Token], name: String, summary: String) throws -> LogFormat {
        var segments: [String] = []
        var pending = "^"
        var used = Set<LogField>()
        for (index, token) in tokens.enumerated() {
            switch token {
            case .literal(let text):
                pending += escape(text)
            case .variable(_, let field, let pattern):
                let before = index > 0 ? lastChar(tokens[index - 1]) : nil
                let after = index + 1 < tokens.count ? firstChar(tokens[index + 1]) : nil
                let body: String
                if before == "\"" && after == "\"" {
                    body = quoted
                } else if before == "[" && after == "]" {
                    body = #"[^\]]*"#
                } else if let pattern {
                    body = pattern
                } else if let after {
                    body = after == " " ? ".*?" : "[^\(escapeInClass(after))]*"
                } else {
                    body = ".*"
                }
                if let field, used.insert(field).inserted {
                    pending += "(?<\(field.name)>\(body))"
                } else {
                    pending += "(?:\(body))"
                }
                segments.append(pending)
                pending = ""
            }
        }
        if !pending.isEmpty && pending != "^" { segments.append(pending) }
        if segments.isEmpty { throw FormatError.unsupported("format string has no variables") }
        segments[segments.count - 1] += "$"
        let format = LogFormat(name: name, summary: summary, body: .regex(segments: segments, extended: false),
                               escapes: .backslash)
        try format.validate()
        return format
    }

    private static func lastChar(_ token: Token) -> Character? {
        if case .literal(let text) = token { return text.last }
        return nil
    }

    private static func firstChar(_ token: Token) -> Character? {
        if case .literal(let text) = token { return text.first }
        return nil
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\^$.|?*+()[]{}".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    private static func escapeInClass(_ c: Character) -> String {
        "\\^]-[".contains(c) ? "\\\(c)" : String(c)
    }
}

/// What common values look like outside quotes.
enum ValuePattern {
    static let token = #"\S*"#
    static let status = #"\d{3}"#
    static let number = #"-|[0-9.]+"#
    static let clfTime = #"\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?"#
    static let isoTime = #"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"#
    static let epoch = #"\d+(?:\.\d+)?"#
}
