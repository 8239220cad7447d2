/// Turns one line's bytes into field spans.
public protocol LineParser: AnyObject {
    /// How the log writer escaped string fields, for the decoder that reads them.
    var escapes: EscapeStyle { get }
    /// Whether lines carry a user agent (an absent one then means a script, not a blind format).
    /// A W3C parser knows only once it has read a `#Fields:` line.
    var hasUserAgentField: Bool { get }
    /// How many bytes of the last matched line the format accounted for: format detection
    /// prefers the format that explains more of a line when two read the same fields.
    var matchEnd: Int { get }
    /// Fills `fields` (cleared first) and returns false when the line does not fit the format.
    func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool
}

/// A format given as a PCRE2 pattern whose named groups are `LogField` names. Patterns a single
/// scan decides (the CLF family) match on a `PatternScan` instead, with the same answer.
public final class RegexLineParser: LineParser {
    public let escapes: EscapeStyle
    public let regex: PCRE2Regex
    private let scan: PatternScan?
    public let hasUserAgentField: Bool
    // (field, group) pairs, flattened, so the per-line loop touches one small buffer.
    private let mapping: UnsafeMutableBufferPointer<Int>

    public init(pattern: String, extended: Bool, escapes: EscapeStyle, scanning: Bool = true) throws {
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
        hasUserAgentField = seen.contains(.userAgent)
        // The scan writes each field's span where `ParsedFields` keeps it.
        var fieldOfGroup: [Int: Int] = [:]
        for i in stride(from: 0, to: pairs.count, by: 2) { fieldOfGroup[pairs[i + 1]] = pairs[i] }
        scan = scanning ? PatternScanner(pattern: pattern, extended: extended).map { scanner in
            PatternScan(scanner) { ovector in fieldOfGroup[ovector / 2].map { 2 * $0 + ovector % 2 } }
        } : nil
    }

    public var matchEnd: Int { scan == nil ? regex.end(0) : scanEnd }
    private var scanEnd = 0

    /// Whether lines match on the scanner rather than PCRE2.
    public var scans: Bool { scan != nil }

    deinit { mapping.deallocate() }

    /// The fields this format can fill.
    public var fields: Set<LogField> {
        var result = Set<LogField>()
        for i in stride(from: 0, to: mapping.count, by: 2) { result.insert(LogField(rawValue: mapping[i])!) }
        return result
    }

    @inline(__always)
    public func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool {
        if let scan {
            fields.clear()
            scanEnd = scan.match(line, count, into: fields.spans)
            return scanEnd >= 0
        }
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
