/// Reads the `.format` files that define built-in formats (and can define a user's own):
///
/// ```
/// # One-line summary.
/// # More comment lines.
/// kind: regex            (regex, json, or w3c: columns from the log's #Fields: lines)
/// escapes: backslash     (backslash, json, hash (HAProxy's #XX) or none)
/// user-agent: plus       (optional: plus or percent, how the user agent's spaces were encoded)
/// directives: yes        (optional: lines starting with # are directives, not malformed)
/// ---
/// one pattern piece per line (PCRE2 extended syntax: write a space as [ ])
/// ```
/// A json body has one `field: key.path, other.path` line per field instead, or no body and
/// `mapping: NAME` to read the keys of built-in format NAME; `prefix: PATTERN` (PCRE2 extended,
/// named groups are fields) is the text before the object. A w3c format has no body.
public enum FormatFile {
    public static func parse(_ text: String, name: String) throws -> LogFormat {
        var summary = ""
        var kind = "regex"
        var escapes = EscapeStyle.backslash
        var userAgentEscapes = UserAgentEscapes.none
        var directives = false
        var prefix: String?
        var mappingFrom: String?
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
                guard ["regex", "json", "w3c"].contains(value) else {
                    throw FormatError.badFormatFile(name, line: number, "kind must be regex, json or w3c")
                }
                kind = value
            case "escapes":
                switch value {
                case "backslash": escapes = .backslash
                case "json": escapes = .json
                case "hash": escapes = .hash
                case "none": escapes = .none
                default: throw FormatError.badFormatFile(name, line: number, "escapes must be backslash, json, hash or none")
                }
            case "user-agent":
                switch value {
                case "plus": userAgentEscapes = .plus
                case "percent": userAgentEscapes = .percent
                case "none": userAgentEscapes = .none
                default: throw FormatError.badFormatFile(name, line: number, "user-agent must be plus, percent or none")
                }
            case "directives":
                guard value == "yes" || value == "no" else {
                    throw FormatError.badFormatFile(name, line: number, "directives must be yes or no")
                }
                directives = value == "yes"
            case "prefix":
                prefix = value
            case "mapping":
                mappingFrom = value
            default:
                throw FormatError.badFormatFile(name, line: number, "unknown key '\(key)'")
            }
        }
        switch kind {
        case "w3c":
            return LogFormat(name: formatName, summary: summary, body: .w3c, escapes: .none,
                             userAgentEscapes: userAgentEscapes == .none ? .plus : userAgentEscapes, directives: true)
        case "regex":
            guard !bodyLines.isEmpty else { throw FormatError.badFormatFile(name, line: 1, "no pattern after '---'") }
            return LogFormat(name: formatName, summary: summary,
                             body: .regex(segments: bodyLines.map { $0.1.trimmingSpaces }, extended: true),
                             escapes: escapes, userAgentEscapes: userAgentEscapes, directives: directives)
        default:
            let mapping = try jsonMapping(bodyLines, from: mappingFrom, name: name)
            return LogFormat(name: formatName, summary: summary, body: .json(mapping, prefix: prefix), escapes: .json,
                             userAgentEscapes: userAgentEscapes, directives: directives)
        }
    }

    private static func jsonMapping(_ bodyLines: [(Int, String)], from other: String?, name: String) throws
        -> [(field: LogField, paths: [[String]])] {
        if let other {
            // Read from the embedded file, not BuiltinFormats.all: this runs while that is built.
            guard let entry = BuiltinFormats.embedded.first(where: { $0.file == other + ".format" }),
                  case .json(let mapping, _) = try parse(entry.text, name: entry.file).body else {
                throw FormatError.badFormatFile(name, line: 1, "mapping: \(other) is not a built-in json format")
            }
            return mapping
        }
        guard !bodyLines.isEmpty else { throw FormatError.badFormatFile(name, line: 1, "no key paths after '---'") }
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
        return mapping
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
