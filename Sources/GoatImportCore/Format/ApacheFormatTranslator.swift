/// Turns an Apache `LogFormat` string into a pattern.
public enum ApacheFormatTranslator {
    /// Directives goatimport reads, by letter.
    static let fields: [Character: (LogField, String?)] = [
        "h": (.remoteAddr, ValuePattern.token),
        "a": (.remoteAddr, ValuePattern.token),
        "u": (.remoteUser, ValuePattern.token),
        "r": (.request, nil),
        "s": (.status, ValuePattern.status),
        "m": (.method, ValuePattern.token),
        "U": (.path, ValuePattern.token),
        "v": (.host, ValuePattern.token),
        "V": (.host, ValuePattern.token),
    ]

    /// Directives Apache knows that goatimport skips over.
    static let skipped: Set<Character> = ["A", "b", "B", "C", "D", "e", "f", "H", "k", "l", "L", "n", "o", "O", "I", "S",
                                          "p", "P", "R", "T", "X", "M", "x"]

    static let headers: [String: LogField] = [
        "referer": .referer, "user-agent": .userAgent, "x-forwarded-for": .xForwardedFor, "host": .host,
    ]

    public static func translate(_ format: String) throws -> LogFormat {
        var tokens: [FormatStringCompiler.Token] = []
        var unknown: [String] = []
        var literal = ""
        let chars = Array(format)
        var i = 0
        func flush() { if !literal.isEmpty { tokens.append(.literal(literal)); literal = "" } }
        while i < chars.count {
            let c = chars[i]
            if c == "\\" && i + 1 < chars.count {
                // The config file's own escapes: \" and \t, \n.
                let next = chars[i + 1]
                literal.append(next == "t" ? "\t" : next == "n" ? "\n" : next)
                i += 2
                continue
            }
            guard c == "%", i + 1 < chars.count else { literal.append(c); i += 1; continue }
            if chars[i + 1] == "%" { literal.append("%"); i += 2; continue }
            var j = i + 1
            // Modifiers: < > and status conditions such as !200,304.
            while j < chars.count, "<>!,0123456789^".contains(chars[j]) { j += 1 }
            var argument: String?
            if j < chars.count, chars[j] == "{" {
                var arg = ""
                j += 1
                while j < chars.count && chars[j] != "}" { arg.append(chars[j]); j += 1 }
                argument = arg
                j += 1
            }
            guard j < chars.count else { unknown.append(String(chars[i...])); break }
            let letter = chars[j]
            let display = String(chars[i...j])
            i = j + 1
            flush()
            switch (letter, argument) {
            case ("t", nil):
                tokens.append(.literal("["))
                tokens.append(.variable(display: display, field: .timeLocal, pattern: ValuePattern.clfTime))
                tokens.append(.literal("]"))
            case ("t", let arg?):
                guard arg == "sec" || arg == "%s" else {
                    throw FormatError.unsupported("Apache time format %{\(arg)}t is not supported; use %t, %{sec}t or a regex: format")
                }
                tokens.append(.variable(display: display, field: .msec, pattern: ValuePattern.epoch))
            case ("i", let header?):
                tokens.append(.variable(display: display, field: headers[header.lowercased()], pattern: nil))
            case ("q", nil):
                tokens.append(.variable(display: display, field: .query, pattern: #"(?:\?\S*)?"#))
            case (let l, _) where fields[l] != nil:
                let (field, pattern) = fields[l]!
                tokens.append(.variable(display: display, field: field, pattern: pattern))
            case (let l, _) where skipped.contains(l) || argument != nil && "aeCnoxp^".contains(l):
                tokens.append(.variable(display: display, field: nil, pattern: ValuePattern.token))
            default:
                unknown.append(display)
            }
        }
        flush()
        if !unknown.isEmpty { throw FormatError.unknownVariables(kind: "Apache", unknown) }
        return try FormatStringCompiler.compile(tokens, name: "apache", summary: "Apache LogFormat '\(format)'")
    }
}
