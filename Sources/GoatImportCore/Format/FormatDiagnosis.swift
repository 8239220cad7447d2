/// Explains why a line does not fit a format, for `goatimport check`: how far the pattern
/// matched and what it expected next.
public final class FormatDiagnosis {
    public let format: LogFormat
    private var prefixes: [PCRE2Regex?] = []

    public init(format: LogFormat) {
        self.format = format
    }

    public func explain(_ line: [UInt8]) -> String {
        switch format.body {
        case .json(_, nil):
            guard line.first(where: { $0 != 0x20 }) == UInt8(ascii: "{") else { return "not a JSON object" }
            return "not a complete JSON object, or a value of an unexpected type"
        case .json(_, let prefix?):
            guard let regex = try? PCRE2Regex(prefix, extended: true), regex.matches(line) else {
                return "does not start as expected: \(prefix)"
            }
            return "no complete JSON object after the prefix, or a value of an unexpected type"
        case .w3c:
            return "fewer columns than the last #Fields: line names"
        case .goatcounterCSV:
            return "not a row of a GoatCounter export (14 CSV columns, ending in an RFC 3339 Date)"
        case .regex(let segments, let extended):
            if prefixes.isEmpty {
                prefixes = (1...segments.count).map { n in
                    try? PCRE2Regex(segments[0..<n].joined(separator: extended ? "\n" : ""), anchored: true, extended: extended)
                }
            }
            var matchedEnd = 0
            var matchedSegments = 0
            for (i, regex) in prefixes.enumerated() {
                guard let regex, regex.matches(line) else { break }
                matchedSegments = i + 1
                matchedEnd = regex.end(0)
            }
            if matchedSegments == segments.count {
                return "matches; the line's values could not be read"
            }
            let expected = segments[matchedSegments].trimmingSpaces
            let rest = line[matchedEnd...].prefix(40)
            let restText = PrintableText.escaping(String(decoding: rest, as: UTF8.self))
            let what = matchedSegments == 0 ? "from the start" : "after byte \(matchedEnd)"
            return "stops matching \(what): expected \(expected) at «\(restText)\(line.count - matchedEnd > 40 ? "…" : "")»"
        }
    }
}
