import Foundation

/// Reads a format file that holds a format as an administrator copies it: nginx's
/// `log_format NAME [escape=…] '…' '…';` directive straight from nginx.conf (several quoted
/// parts, over several lines), Apache's `LogFormat "…" [name]` line from httpd.conf, or the
/// command-line form `nginx:'…'` / `apache:'…'` / `regex:'…'` with its shell quotes still on.
/// Quotes left in the format would become literals that no line carries, so each form is
/// unquoted the way its own reader (nginx, Apache, the shell) would.
enum PastedFormat {
    /// The format, or nil when the text is none of these forms (a `.format` file).
    static func resolve(_ text: String, path: String) throws -> LogFormat? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        for prefix in ["nginx:", "apache:", "regex:"] {
            guard let rest = trimmed.dropPrefix(prefix) else { continue }
            // Unquoted, as it always was read: verbatim (a pattern's backslashes stay).
            return try LogFormat.resolve(prefix + (rest.first == "'" || rest.first == "\"" ? shellUnquoted(rest) : rest))
        }
        // Only a directive is split into words: a .format file's pattern may hold a lone quote.
        let firstWord = text.split(separator: "\n").lazy.map { $0.trimmingSpaces }
            .first { !$0.isEmpty && !$0.hasPrefix("#") }?.split(whereSeparator: { $0 == " " || $0 == "\t" }).first
        guard firstWord == "log_format" || firstWord == "LogFormat" else { return nil }
        let words = try ConfigWords(text, path: path).words
        switch words.first?.text {
        case "log_format": return try nginxDirective(Array(words.dropFirst()), path: path)
        case "LogFormat": return try apacheDirective(Array(words.dropFirst()), path: path)
        default: return nil
        }
    }

    private static func nginxDirective(_ args: [ConfigWords.Word], path: String) throws -> LogFormat {
        // log_format NAME [escape=default|json|none] STRING...;  (nginx joins the strings as they are)
        var rest = args.dropFirst()
        var escapes = EscapeStyle.backslash
        if let first = rest.first, !first.quoted, let style = first.text.dropPrefix("escape=") {
            switch style {
            case "default": escapes = .backslash
            case "json": escapes = .json
            case "none": escapes = .none
            default: throw FormatError.badFormatFile(path, line: first.line, "escape= must be default, json or none")
            }
            rest = rest.dropFirst()
        }
        let parts = rest.prefix { $0.text != ";" || $0.quoted }
        guard args.first != nil, !parts.isEmpty else {
            throw FormatError.badFormatFile(path, line: args.first?.line ?? 1, "log_format needs a name and a format string")
        }
        let format = try NginxFormatTranslator.translate(parts.map(\.text).joined())
        return LogFormat(name: format.name, summary: format.summary, body: format.body, escapes: escapes,
                         userAgentEscapes: format.userAgentEscapes, directives: format.directives)
    }

    private static func apacheDirective(_ args: [ConfigWords.Word], path: String) throws -> LogFormat {
        // LogFormat "FORMAT" [nickname]: Apache keeps the backslashes; its format reader (ours too) reads them.
        guard let format = args.first else {
            throw FormatError.badFormatFile(path, line: 1, "LogFormat needs a format string")
        }
        return try ApacheFormatTranslator.translate(format.raw)
    }

    /// A POSIX shell's reading of one word: '…' literal, "…" with \" \\ \$ \` escapes.
    static func shellUnquoted(_ word: String) -> String {
        var out = ""
        var quote: Character?
        var chars = word.makeIterator()
        while let c = chars.next() {
            switch (quote, c) {
            case (nil, "'"), (nil, "\""): quote = c
            case ("'", "'"), ("\"", "\""): quote = nil
            case ("\"", "\\"), (nil, "\\"):
                guard let next = chars.next() else { out.append(c); break }
                if quote == nil || "\"\\$`".contains(next) { out.append(next) } else { out.append(c); out.append(next) }
            default: out.append(c)
            }
        }
        return out
    }
}

/// The words of a server config directive: bare words, '…' and "…" strings, `;`, with `#`
/// comments skipped. `text` is nginx's reading of a quoted string (\" \' \\ \t \r \n),
/// `raw` what stood between the quotes.
struct ConfigWords {
    struct Word {
        var text: String
        var raw: String
        var quoted: Bool
        var line: Int
    }

    let words: [Word]
    /// A set, not a string: in a string literal "\r\n" is one Character, which a lone "\n" is not.
    static let wordEnds: Set<Character> = [" ", "\t", "\r", "\n", "\r\n", ";", "'", "\""]

    init(_ source: String, path: String) throws {
        var words: [Word] = []
        let chars = Array(source)
        var i = 0
        var line = 1
        while i < chars.count {
            let c = chars[i]
            if c == "\n" || c == "\r\n" { line += 1; i += 1; continue }
            if c == " " || c == "\t" || c == "\r" { i += 1; continue }
            if c == "#" { while i < chars.count && chars[i] != "\n" { i += 1 }; continue }
            if c == ";" { words.append(Word(text: ";", raw: ";", quoted: false, line: line)); i += 1; continue }
            let start = line
            if c == "'" || c == "\"" {
                var text = "", raw = ""
                i += 1
                while i < chars.count && chars[i] != c {
                    if chars[i] == "\n" || chars[i] == "\r\n" { line += 1 }
                    if chars[i] == "\\", i + 1 < chars.count {
                        let next = chars[i + 1]
                        raw.append(chars[i]); raw.append(next)
                        switch next {
                        case "\"", "'", "\\": text.append(next)
                        case "t": text.append("\t")
                        case "r": text.append("\r")
                        case "n": text.append("\n")
                        default: text.append(chars[i]); text.append(next)
                        }
                        i += 2
                        continue
                    }
                    text.append(chars[i]); raw.append(chars[i])
                    i += 1
                }
                guard i < chars.count else {
                    throw FormatError.badFormatFile(path, line: start, "the string opened with \(c) is never closed")
                }
                i += 1
                words.append(Word(text: text, raw: raw, quoted: true, line: start))
                continue
            }
            var text = ""
            while i < chars.count, !Self.wordEnds.contains(chars[i]) { text.append(chars[i]); i += 1 }
            words.append(Word(text: text, raw: text, quoted: false, line: start))
        }
        self.words = words
    }
}
