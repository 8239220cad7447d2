/// A format that cannot be used, with what to do about it.
public enum FormatError: Error, CustomStringConvertible, Equatable {
    case unknownFormat(String, known: [String])
    case unknownGroups([String], known: [String])
    case unknownVariables(kind: String, [String])
    case unsupported(String)
    case noPath
    case badFormatFile(String, line: Int, String)
    /// `--format auto` found no built-in format that reads any of the lines it tried.
    case noFormatMatches(lines: Int, input: String)

    public var description: String {
        switch self {
        case .unknownFormat(let name, let known):
            return "unknown format \"\(name)\"; built-in formats: \(known.joined(separator: ", ")); or auto, nginx:'<log_format>', apache:'<LogFormat>', regex:'<pattern>' or @file"
        case .unknownGroups(let names, let known):
            return "unknown \(noun(names.count, "group name")) in pattern: \(names.joined(separator: ", ")); known: \(known.joined(separator: ", "))"
        case .unknownVariables(let kind, let names):
            return "unknown \(kind) \(noun(names.count, "variable")) in format: \(names.joined(separator: ", "))"
        case .unsupported(let what):
            return what
        case .noPath:
            return "format has no request, uri or path field, so it cannot tell which page was viewed"
        case .badFormatFile(let file, let line, let message):
            return "\(file):\(line): \(message)"
        case .noFormatMatches(let lines, let input):
            return "format auto: no built-in format reads any of the first \(counted(lines, "line")) of \(input). "
                + "See why a format fails with `goatimport check --format NAME \(input)`, or give your server's own format: "
                + "--format nginx:'<log_format>', apache:'<LogFormat>', regex:'<pattern>' or @file (see `goatimport formats`)"
        }
    }
}
