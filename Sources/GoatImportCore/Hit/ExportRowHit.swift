/// One row of a GoatCounter export (CSV format version 2) as the count-API hit that records it
/// again: what the API can carry, sent so that the server files it as it was. The README's
/// "Moving a site" table is the mapping and says what cannot survive the trip.
///
/// - `Path`, `Title`, `Event` as they are (an event's path is its name, without a slash).
/// - `Date` becomes `created_at`; `Session` stays the hit's `session`, so rows that shared a
///   visit share one again and rows of different visits never merge. A row without one (hits
///   older than sessions) gets one of its own, from its line.
/// - `Referrer` by its `Referrer scheme`: `h` (kept as host and path) is sent as an https URL;
///   `c` (a campaign) as `utm_source` in `query`; `o` (another scheme, an app) as an
///   `android-app://` URL; `g` (a name the server gives a known site) as that site's URL. A
///   referrer that is a whole URL already (as 2.7 keeps them) goes as it is.
/// - `UserAgent` when the export has one (2.4.x); `Browser` and `System` are the server's own
///   reading of it and cannot be sent. `Screen size` as `size`, `Location` as `location`,
///   `Bot` as the `bot` hint. `FirstVisit` follows from the sessions.
public final class ExportRowHit {
    public static let columns = ["Path", "Title", "Event", "UserAgent", "Browser", "System", "Session", "Bot",
                                 "Referrer", "Referrer scheme", "Screen size", "Location", "FirstVisit", "Date"]
    enum Column: Int {
        case path, title, event, userAgent, browser, system, session, bot, referrer, refScheme, size, location, firstVisit, date
    }

    /// The site behind each of GoatCounter's referrer group names (its `groups` table).
    static let generatedReferrers: [String: String] = [
        "Google": "https://www.google.com/", "Hacker News": "https://news.ycombinator.com/",
        "Email": "https://mail.google.com/", "RSS": "https://feedly.com/",
        "Telegram Messenger": "android-app://org.telegram.messenger", "Slack Chat": "android-app://com.Slack",
    ]

    public let limits = HitEncoder.Limits()

    public init() {}

    /// Whether the first line of an input is an export's header (`2Path,Title,…`).
    public static func isHeader(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let prefix: StaticString = "2Path,Title,Event,"
        guard count >= prefix.utf8CodeUnitCount else { return false }
        for i in 0..<prefix.utf8CodeUnitCount where p[i] != prefix.utf8Start[i] { return false }
        return true
    }

    public enum Header: Equatable {
        case version2
        /// An export header of another version, or version 2 with other columns.
        case unknown(String)
        case notHeader
    }

    /// Reads a record as a header: the version is glued to the first column's name (`2Path`).
    public static func header(_ fields: CSVFields) -> Header {
        let first = fields.string(0)
        let version = String(first.prefix { $0.isNumber })
        guard !version.isEmpty, first.dropFirst(version.count) == "Path" else { return .notHeader }
        let names = (0..<fields.count).map { fields.string($0) }
        if version == "2" && Array(names.dropFirst()) == Array(columns.dropFirst()) { return .version2 }
        return .unknown("export format version \(version) with columns \(names.joined(separator: ",")) (goatimport reads version 2: \(columns.joined(separator: ",")))")
    }

    /// The row's time (UTC seconds), or why the row cannot be sent (checked before `encode`).
    public func time(_ fields: CSVFields) -> Result<Int, RowProblem> {
        guard fields.count == Self.columns.count else { return .failure(.columns(fields.count)) }
        let date = fields.field(Column.date.rawValue)
        guard date.count > 0, let (seconds, hasOffset) = Timestamp.parseISO8601(date.baseAddress!, date.count), hasOffset else {
            return .failure(.date(fields.string(Column.date.rawValue)))
        }
        if fields.field(Column.path.rawValue).isEmpty { return .failure(.noPath) }
        guard Self.validSize(fields.field(Column.size.rawValue)) else { return .failure(.size(fields.string(Column.size.rawValue))) }
        return .success(seconds)
    }

    public enum RowProblem: Error, Equatable, CustomStringConvertible {
        case columns(Int)
        case date(String)
        case noPath
        case size(String)
        public var description: String {
            switch self {
            case .columns(let n): return "\(n) columns, not \(ExportRowHit.columns.count)"
            case .date(let d): return "Date \"\(d)\" is not an RFC 3339 time"
            case .noPath: return "Path is empty"
            case .size(let s): return "Screen size \"\(s)\" is not width,height,scale"
            }
        }
    }

    /// Appends the hit's JSON object (no newline). `line` names a row without a session.
    public func encode(_ fields: CSVFields, time: Int, line: Int, into out: ByteBuffer) {
        func value(_ c: Column) -> UnsafeBufferPointer<UInt8> { fields.field(c.rawValue) }
        func string(_ key: StaticString, _ c: Column, max: Int = Int.max) {
            let f = value(c)
            guard f.count > 0 else { return }
            out.append(key)
            JSONString.append(f.baseAddress!, f.count, maxCharacters: max, invalid: .replace, to: out)
            out.append(UInt8(ascii: "\""))
        }
        let size = value(.size)
        let path = value(.path)
        out.append("{\"path\":\"")
        JSONString.append(path.baseAddress!, path.count, maxCharacters: limits.path, invalid: .percentEncode, to: out)
        out.append(UInt8(ascii: "\""))
        string(",\"title\":\"", .title, max: 1024)
        if fields.equals(Column.event.rawValue, "1") || fields.equals(Column.event.rawValue, "true") {
            out.append(",\"event\":true")
        }
        referrer(fields, into: out)
        string(",\"user_agent\":\"", .userAgent, max: limits.userAgent)
        if value(.session).count > 0 {
            string(",\"session\":\"", .session)
        } else {
            out.append(",\"session\":\"goatimport-row-")
            out.appendDecimal(line)
            out.append(UInt8(ascii: "\""))
        }
        string(",\"location\":\"", .location)
        if size.count > 0 {
            // A string, as count.js sends it: real servers refuse a JSON array here.
            out.append(",\"size\":\"")
            out.append(size.baseAddress!, count: size.count)
            out.append(UInt8(ascii: "\""))
        }
        if let bot = Int(fields.string(Column.bot.rawValue)), bot != 0 {
            out.append(",\"bot\":")
            out.appendDecimal(bot)
        }
        out.append(",\"created_at\":\"")
        out.reserve(20)
        Timestamp.writeRFC3339(time, to: out.base + out.count)
        out.count += 20
        out.append("\"}")
    }

    private func referrer(_ fields: CSVFields, into out: ByteBuffer) {
        let ref = fields.field(Column.referrer.rawValue)
        guard ref.count > 0 else { return }
        let scheme = fields.field(Column.refScheme.rawValue).first ?? UInt8(ascii: "h")
        if scheme != UInt8(ascii: "c") && scheme != UInt8(ascii: "g") && Self.hasURLScheme(ref) {
            // A whole URL already (2.7 keeps referrers so; a rebuild from its statistics has them).
            out.append(",\"ref\":\"")
            JSONString.append(ref.baseAddress!, ref.count, maxCharacters: limits.ref, invalid: .percentEncode, to: out)
            out.append(UInt8(ascii: "\""))
            return
        }
        switch scheme {
        case UInt8(ascii: "c"):
            // The server takes a campaign's name from utm_source (percent-encoded in a query).
            out.append(",\"query\":\"?utm_source=")
            out.append(utf8: PathCleaner.escape(String(decoding: ref, as: UTF8.self)))
            out.append(UInt8(ascii: "\""))
            return
        case UInt8(ascii: "g"):
            if let url = Self.generatedReferrers[String(decoding: ref, as: UTF8.self)] {
                out.append(",\"ref\":\"")
                out.append(utf8: url)
                out.append(UInt8(ascii: "\""))
                return
            }
            out.append(",\"ref\":\"https://")
        case UInt8(ascii: "o"):
            out.append(",\"ref\":\"android-app://")
        default:
            out.append(",\"ref\":\"https://")
        }
        JSONString.append(ref.baseAddress!, ref.count, maxCharacters: limits.ref - 16, invalid: .percentEncode, to: out)
        out.append(UInt8(ascii: "\""))
    }

    /// Whether a referrer starts with a URL scheme (`https://`, `android-app://`): letters first,
    /// then letters, digits, `+`, `-` or `.` up to `://`. A 2.4 export's `h` referrer
    /// (`twitter.com/search?q=…`) has none, even when its query holds a URL.
    static func hasURLScheme(_ ref: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < ref.count {
            let b = ref[i]
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): break
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
                if i == 0 { return false }
            case UInt8(ascii: ":"):
                return i > 0 && i + 2 < ref.count && ref[i + 1] == UInt8(ascii: "/") && ref[i + 2] == UInt8(ascii: "/")
            default: return false
            }
            i += 1
        }
        return false
    }

    public static func hasURLScheme(_ ref: String) -> Bool {
        var ref = ref
        return ref.withUTF8 { hasURLScheme($0) }
    }

    /// `1440,900,2`, `412,915,2.625` or empty: sent as written, so only digits, dots and commas.
    static func validSize(_ f: UnsafeBufferPointer<UInt8>) -> Bool {
        var commas = 0, digits = 0, dot = false
        for b in f {
            switch b {
            case UInt8(ascii: ","):
                if digits == 0 { return false }
                commas += 1; digits = 0; dot = false
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
            case UInt8(ascii: "."):
                if digits == 0 || dot { return false }
                dot = true; digits = 0
            default: return false
            }
        }
        return f.isEmpty || (digits > 0 && commas <= 2)
    }
}
