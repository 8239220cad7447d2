/// Turns one line's bytes into field spans.
public protocol LineParser: AnyObject {
    /// How the log writer escaped string fields, for the decoder that reads them.
    var escapes: EscapeStyle { get }
    /// Fills `fields` (cleared first) and returns false when the line does not fit the format.
    func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool
}

/// A format given as a PCRE2 pattern whose named groups are `LogField` names.
public final class RegexLineParser: LineParser {
    public let escapes: EscapeStyle
    public let regex: PCRE2Regex
    // (field, group) pairs, flattened, so the per-line loop touches one small buffer.
    private let mapping: UnsafeMutableBufferPointer<Int>

    public init(pattern: String, extended: Bool, escapes: EscapeStyle) throws {
        self.escapes = escapes
        regex = try PCRE2Regex(pattern, extended: extended)
        var pairs: [Int] = []
        var unknown: [String] = []
        var seen = Set<LogField>()
        for (name, number) in regex.namedGroups.sorted(by: { $0.number < $1.number }) {
            guard let field = LogField(name: name) else { unknown.append(name); continue }
            // The first group for a field wins (a format may log $host and $server_name).
            if seen.insert(field).inserted { pairs += [field.rawValue, number] }
        }
        if !unknown.isEmpty {
            throw FormatError.unknownGroups(unknown, known: LogField.allCases.map(\.name))
        }
        mapping = .allocate(capacity: pairs.count)
        _ = mapping.initialize(from: pairs)
    }

    deinit { mapping.deallocate() }

    /// The fields this format can fill.
    public var fields: Set<LogField> {
        var result = Set<LogField>()
        for i in stride(from: 0, to: mapping.count, by: 2) { result.insert(LogField(rawValue: mapping[i])!) }
        return result
    }

    @inline(__always)
    public func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool {
        guard regex.matches(line, count) else { return false }
        fields.clear()
        var i = 0
        while i < mapping.count {
            let group = mapping[i + 1]
            let start = regex.start(group)
            if start >= 0 { fields.spans[2 * mapping[i]] = start; fields.spans[2 * mapping[i] + 1] = regex.end(group) }
            i += 2
        }
        return true
    }
}
