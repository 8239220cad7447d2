/// Reads the `.format` files that define built-in formats (and can define a user's own):
///
/// ```
/// # One-line summary.
/// # More comment lines.
/// kind: regex            (regex, or json)
/// escapes: backslash     (backslash, json or none)
/// ---
/// one pattern piece per line (PCRE2 extended syntax: write a space as [ ])
/// ```
/// A json body has one `field: key.path, other.path` line per field instead.
public enum FormatFile {
    public static func parse(_ text: String, name: String) throws -> LogFormat {
        var summary = ""
        var kind = "regex"
        var escapes = EscapeStyle.backslash
        var bodyLines: [(Int, String)] = []
        var inBody = false
        let baseName = name.split(separator: "/").last.map { String($0) } ?? name
        let formatName = baseName.hasSuffix(".format") ? String(baseName.dropLast(7)) : baseName
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let number = index + 1
            if inBody {
                if !line.trimmingSpaces.isEmpty { bodyLines.append((number, line)) }
                continue
            }
            let trimmed = line.trimmingSpaces
            if trimmed.hasPrefix("#") {
                if summary.isEmpty { summary = String(trimmed.dropFirst()).trimmingSpaces }
                continue
            }
            if trimmed.isEmpty { continue }
            if trimmed == "---" { inBody = true; continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw FormatError.badFormatFile(name, line: number, "expected 'key: value' or '---'")
            }
            let key = String(trimmed[..<colon]).trimmingSpaces
            let value = String(trimmed[trimmed.index(after: colon)...]).trimmingSpaces
            switch key {
            case "kind":
                guard value == "regex" || value == "json" else {
                    throw FormatError.badFormatFile(name, line: number, "kind must be regex or json")
                }
                kind = value
            case "escapes":
                switch value {
                case "backslash": escapes = .backslash
                case "json": escapes = .json
                case "none": escapes = .none
                default: throw FormatError.badFormatFile(name, line: number, "escapes must be backslash, json or none")
                }
            default:
                throw FormatError.badFormatFile(name, line: number, "unknown key '\(key)'")
            }
        }
        guard !bodyLines.isEmpty else { throw FormatError.badFormatFile(name, line: 1, "no pattern after '---'") }
        if kind == "regex" {
            return LogFormat(name: formatName, summary: summary,
                             body: .regex(segments: bodyLines.map { $0.1.trimmingSpaces }, extended: true),
                             escapes: escapes)
        }
        var mapping: [(field: LogField, paths: [[String]])] = []
        for (number, line) in bodyLines {
            guard let colon = line.firstIndex(of: ":") else {
                throw FormatError.badFormatFile(name, line: number, "expected 'field: key.path, …'")
            }
            let fieldName = String(line[..<colon]).trimmingSpaces
            guard let field = LogField(name: fieldName) else {
                throw FormatError.badFormatFile(name, line: number, "unknown field '\(fieldName)'")
            }
            let paths = line[line.index(after: colon)...].split(separator: ",").map {
                $0.trimmingSpaces.split(separator: ".").map(String.init)
            }
            mapping.append((field, paths))
        }
        return LogFormat(name: formatName, summary: summary, body: .json(mapping), escapes: .json)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}
