/// A JSON object behind a text prefix, as Caddy's `format console` writes it:
/// `2023/03/15 12:00:00.000<TAB>INFO<TAB>http.log.access<TAB>handled request<TAB>{…}`.
///
/// The prefix is a pattern whose named groups are fields (there the time, which the console
/// encoder takes out of the object); the object is read with the JSON mapping after it.
public final class PrefixedJSONLineParser: LineParser {
    public let escapes: EscapeStyle = .json
    private let prefix: RegexLineParser
    private let json: JSONLineParser

    public init(prefix: String, mapping: [(field: LogField, paths: [[String]])]) throws {
        self.prefix = try RegexLineParser(pattern: prefix, extended: true, escapes: .json)
        json = JSONLineParser(mapping: mapping)
    }

    public var hasUserAgentField: Bool { json.hasUserAgentField || prefix.hasUserAgentField }
    public var matchEnd: Int { json.matchEnd }

    /// The fields of the prefix and of the object together.
    public var fields: Set<LogField> { prefix.fields.union(json.mapping.map(\.field)) }

    public func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool {
        guard prefix.parse(line, count, into: fields) else { return false }
        return json.parse(line, count, from: prefix.matchEnd, into: fields)
    }
}
