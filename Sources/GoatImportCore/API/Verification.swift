import Foundation

/// GoatCounter's cleaning of a pageview's path, applied to both sides of a comparison.
///
/// The server trims whitespace and, for non-events, drops tracking parameters from the query
/// (`utm_*`, `fbclid`, `gclid`, `msclkid`, `ref`, `mc_cid`, `mc_eid`, `_ga`, `_gl`) and sorts
/// the rest by key (Go's `url.Values.Encode`). Servers differ in details (percent-encoding,
/// trailing slashes), so the comparison key is normalised further, the same way on both sides:
/// the query is decoded and re-encoded as `Encode` writes it, and a trailing slash is ignored
/// (`/a/` and `/a` are one path). ASCII letters are lowered: the server's paths are unique by
/// `lower(path)`, so `/About` and `/about` are filed (and counted in a visit) as one path, under
/// the spelling it saw first.
public enum PathCleaner {
    public static let droppedKeys: Set<String> = ["fbclid", "gclid", "msclkid", "ref", "mc_cid", "mc_eid", "_ga", "_gl"]

    public static func clean(_ path: String) -> String {
        var lowered = String.UnicodeScalarView()
        for u in path.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars {
            lowered.append(("A"..."Z").contains(u) ? Unicode.Scalar(u.value + 0x20)! : u)
        }
        let trimmed = String(lowered)
        var base = trimmed
        var query: Substring?
        if let q = trimmed.firstIndex(of: "?") {
            base = String(trimmed[..<q])
            query = trimmed[trimmed.index(after: q)...]
        }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        guard let query else { return base }
        var pairs: [(String, String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(kv[0]), value = kv.count > 1 ? decode(kv[1]) : ""
            if droppedKeys.contains(key) || key.hasPrefix("utm_") { continue }
            pairs.append((key, value))
        }
        // A stable sort by key, as Go's Encode (values of one key keep their order).
        let sorted = pairs.enumerated().sorted { $0.element.0 != $1.element.0 ? $0.element.0 < $1.element.0 : $0.offset < $1.offset }
        let encoded = sorted.map { escape($0.element.0) + "=" + escape($0.element.1) }.joined(separator: "&")
        return encoded.isEmpty ? base : base + "?" + encoded
    }

    /// `+` is a space; `%XX` a byte; invalid escapes stay as written.
    static func decode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "+") { bytes.append(0x20) }
            else if u[i] == UInt8(ascii: "%"), i + 2 < u.count, let h = hex(u[i + 1]), let l = hex(u[i + 2]) {
                bytes.append(h << 4 | l); i += 2
            } else { bytes.append(u[i]) }
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x37
        case 0x61...0x66: return c - 0x57
        default: return nil
        }
    }

    /// Go's `url.QueryEscape`: unreserved bytes stay, a space is `+`, the rest `%XX`.
    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            case 0x20: out += "+"
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }
}

/// One cell of the comparison: a path on a day (UTC).
public struct DayPath: Hashable, Comparable, Sendable {
    public var day: String
    public var path: String
    public init(day: String, path: String) { self.day = day; self.path = path }
    public static func < (a: DayPath, b: DayPath) -> Bool { (a.day, a.path) < (b.day, b.path) }
}

/// Collects what the log says GoatCounter should have: the importer's hits (the same bytes a
/// run would post), tallied per cleaned path and day. Hits the server is known to drop are set
/// apart: `/favicon.ico`, referrers on `localhost`, addresses in the site's ignore list.
///
/// Beside the pageviews (for an export, by UTC day) it tallies visits as GoatCounter's
/// statistics count them: a path once per visit, on the day of the visit's first view of it,
/// shifted by `dayOffset` (see `StatsVerification.offset`). A visit is the hit's `session`; a hit
/// without one (sessions off) belongs to its address and user agent, as the server's own
/// session over an import.
public final class ExpectedHitsSink: HitSink {
    public enum Exclusion: String, CaseIterable, Sendable {
        case favicon = "requests for /favicon.ico"
        case referrerSpam = "referrers on localhost (GoatCounter drops them as spam)"
        case ignoredIP = "addresses in the site's ignore list"
        case event = "events (exports list them apart from pageviews)"
        case bot = "hits marked as bots (GoatCounter keeps them apart)"
    }

    private let buffer = ByteBuffer()
    public let ignoredIPs: Set<String>
    public private(set) var counts: [DayPath: Int] = [:]
    public private(set) var excluded: [Exclusion: Int] = [:]
    /// The first and last `created_at` of all hits (RFC 3339 UTC, comparable as strings).
    public private(set) var first: String?
    public private(set) var last: String?
    public private(set) var undecodable = 0
    /// Seconds added to a hit's UTC time to find its statistics day.
    public let dayOffset: Int
    /// Visits per cleaned path and day (shifted by `dayOffset`).
    public private(set) var visits: [DayPath: Int] = [:]
    /// Visit and path of every first view so far.
    private var viewed: Set<String> = []

    public init(ignoredIPs: Set<String> = [], dayOffset: Int = 0) {
        self.ignoredIPs = ignoredIPs
        self.dayOffset = dayOffset
    }

    private struct Hit: Decodable {
        var path: String
        var event: Bool?
        var bot: Int?
        var ref: String?
        var ip: String?
        var user_agent: String?
        var session: String?
        var created_at: String?
    }

    private let decoder = JSONDecoder()

    public func bufferForNextHit(at position: LinePosition) -> ByteBuffer { buffer }

    public func didEncodeHit(at position: LinePosition) throws {
        defer { buffer.removeAll() }
        guard let hit = try? decoder.decode(Hit.self, from: Data(buffer.bytes)), let time = hit.created_at else {
            undecodable += 1
            return
        }
        if first == nil || time < first! { first = time }
        if last == nil || time > last! { last = time }
        if hit.event == true { excluded[.event, default: 0] += 1; return }
        if let bot = hit.bot, bot != 0 { excluded[.bot, default: 0] += 1; return }
        let path = PathCleaner.clean(hit.path)
        if path == "/favicon.ico" { excluded[.favicon, default: 0] += 1; return }
        if let ref = hit.ref, Self.isLocalhostReferrer(ref) { excluded[.referrerSpam, default: 0] += 1; return }
        if let ip = hit.ip, ignoredIPs.contains(ip) { excluded[.ignoredIP, default: 0] += 1; return }
        counts[DayPath(day: String(time.prefix(10)), path: path), default: 0] += 1
        let visit = hit.session ?? "\(hit.ip ?? "")\u{0}\(hit.user_agent ?? "")"
        if viewed.insert(visit + "\u{0}" + path).inserted, let day = StatsVerification.day(time, offset: dayOffset) {
            visits[DayPath(day: day, path: path), default: 0] += 1
        }
    }

    public func finish() throws {}

    static func isLocalhostReferrer(_ ref: String) -> Bool {
        guard let host = URLComponents(string: ref)?.host?.lowercased() else { return false }
        return host == "localhost" || host.hasSuffix(".localhost")
    }
}

/// What GoatCounter recorded against what the log says, per path and day.
public struct Verification: Sendable {
    public struct Row: Sendable, Equatable {
        public var key: DayPath
        public var expected: Int
        public var recorded: Int
        public var difference: Int { recorded - expected }
    }

    public var expected: [DayPath: Int]
    public var recorded: [DayPath: Int]
    /// Rows of the export (or paths of the statistics) that were not compared, by reason.
    public var notCompared: [String: Int] = [:]
    /// The compared interval, `[from, to]` as RFC 3339 UTC strings.
    public var from: String
    public var to: String

    public init(expected: [DayPath: Int], recorded: [DayPath: Int], notCompared: [String: Int], from: String, to: String) {
        self.expected = expected
        self.recorded = recorded
        self.notCompared = notCompared
        self.from = from
        self.to = to
    }

    /// Compares the export's rows within `[from, to]` (inclusive; RFC 3339 UTC to the second,
    /// which compares as strings) with the expected counts.
    public init(expected: [DayPath: Int], rows: [ExportRow], from: String, to: String) {
        self.expected = expected
        self.from = from
        self.to = to
        var recorded: [DayPath: Int] = [:]
        var notCompared: [String: Int] = [:]
        for row in rows {
            if row.event { notCompared["events", default: 0] += 1; continue }
            if row.bot != 0 { notCompared["bot hits", default: 0] += 1; continue }
            if row.date < from { notCompared["before \(from)", default: 0] += 1; continue }
            if row.date > to { notCompared["after \(to)", default: 0] += 1; continue }
            recorded[DayPath(day: row.day, path: PathCleaner.clean(row.path)), default: 0] += 1
        }
        self.recorded = recorded
        self.notCompared = notCompared
    }

    /// Every cell, sorted by day then path.
    public var rows: [Row] {
        Set(expected.keys).union(recorded.keys).sorted().map { Row(key: $0, expected: expected[$0] ?? 0, recorded: recorded[$0] ?? 0) }
    }

    public var differences: [Row] { rows.filter { $0.difference != 0 } }
    /// Hits the log has and GoatCounter does not.
    public var missing: Int { rows.reduce(0) { $0 + max(0, -$1.difference) } }
    /// Hits GoatCounter has beyond the log's (duplicates, the JavaScript counter, other logs).
    public var extra: Int { rows.reduce(0) { $0 + max(0, $1.difference) } }
    public var matches: Bool { missing == 0 && extra == 0 }
    public var expectedTotal: Int { expected.values.reduce(0, +) }
    public var recordedTotal: Int { recorded.values.reduce(0, +) }
}
