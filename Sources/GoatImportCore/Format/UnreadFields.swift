/// What a format leaves on the table: `check --format common` on a combined log matches every
/// line, yet the referrer and user agent never reach GoatCounter. The lines are read by every
/// built-in format too; a built-in format that reads as many of them and also reads fields that
/// change what is sent shows that the lines carry those fields.
public struct UnreadFields: Sendable, Equatable {
    /// The fields that change a hit (its referrer, the bot filter and visits, the site map's
    /// host) and that no other field stands in for: a format reading time or path another way
    /// is not missing anything.
    static let consequential: [LogField] = [.referer, .userAgent, .remoteAddr, .xForwardedFor, .host]

    public let fields: [LogField]
    /// The built-in format that reads them.
    public let reader: LogFormat

    /// nil when no built-in format reads more of what matters in `lines` than `format` does.
    public static func find(_ format: LogFormat, in lines: [[UInt8]], among formats: [LogFormat] = BuiltinFormats.all) -> UnreadFields? {
        guard let parser = try? format.makeParser() else { return nil }
        let own = FormatDetector.score(format, parser, lines)
        guard own.matched > 0 else { return nil }
        var best: UnreadFields?
        for other in formats where other.name != format.name {
            guard let otherParser = try? other.makeParser() else { continue }
            let score = FormatDetector.score(other, otherParser, lines)
            guard score.matched >= own.matched else { continue }
            let missing = consequential.filter { score.read.contains($0) && !own.read.contains($0) }
            if missing.count > (best?.fields.count ?? 0) { best = UnreadFields(fields: missing, reader: other) }
        }
        return best
    }

    /// `the lines also carry referer, user_agent, which format combined reads; this format drops them`
    public var explanation: String {
        let names = fields.map(\.name).joined(separator: ", ")
        return "the lines also carry \(names), which format \(reader.name) reads; this format drops "
            + (fields.count == 1 ? "it" : "them") + " (--format \(reader.name), or a format that reads them)"
    }
}

extension UnreadFields {
    public static func == (a: UnreadFields, b: UnreadFields) -> Bool { a.fields == b.fields && a.reader.name == b.reader.name }
}
