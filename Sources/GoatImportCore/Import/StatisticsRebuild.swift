import Foundation

/// History rebuilt from a site's statistics, for a source that keeps no individual pageviews: a
/// GoatCounter export (CSV format version 2) of made-up rows that the target counts as the
/// source did, imported through the `goatcounter-csv` pipeline like a real export.
///
/// The statistics count visits per path and day, so each one becomes one row with a session of
/// its own (the target then counts as many visits). Rows fall in the hours the day's `hourly`
/// counts give, spread evenly within the hour. A path's referrers, locations and screen-size
/// classes are totals over the whole range: they are dealt over that path's rows in time order,
/// each value in proportion to its count (smooth weighted round-robin), so every day gets its
/// share and the path's totals come out equal. Everything is a function of the statistics, so
/// the same statistics give the same file.
public enum StatisticsRebuild {
    /// One path of the source: its counts per day and what its breakdowns say.
    public struct PathHistory: Sendable {
        public var stats: PathStats
        public var referrers: [StatsEntry]
        public var locations: [StatsEntry]
        public var sizes: [StatsEntry]

        public init(stats: PathStats, referrers: [StatsEntry] = [], locations: [StatsEntry] = [], sizes: [StatsEntry] = []) {
            self.stats = stats
            self.referrers = referrers
            self.locations = locations
            self.sizes = sizes
        }
    }

    /// A width in each of GoatCounter's size classes (its own tests store these widths to get
    /// them); the target files the row in the same class.
    static let sizeOfClass: [String: String] = [
        "phone": "300,0,1", "largephone": "1000,0,1", "tablet": "1100,0,1", "desktop": "1920,0,1", "desktophd": "3000,0,1",
    ]

    /// The export, header first. `now` (UTC seconds) bounds the rows' times: the server refuses
    /// a time in the future, and today's counts may sit in the current hour.
    public static func csv(_ paths: [PathHistory], now: Int) -> Data {
        var data = Data()
        write(paths, now: now) { data.append($0) }
        return data
    }

    /// The same export in pieces of about a megabyte, for a file: a site's whole history need
    /// not be in memory at once.
    public static func write(_ paths: [PathHistory], now: Int, to sink: (Data) throws -> Void) rethrows {
        var out = "2" + ExportRowHit.columns.joined(separator: ",") + "\n"
        for path in paths {
            let times = self.times(path.stats.days, now: now)
            let referrers = Dealer(path.referrers, total: times.count)
            let locations = Dealer(path.locations, total: times.count)
            let sizes = Dealer(path.sizes, total: times.count)
            for (day, index, time) in times {
                let ref = referrers.next()
                let (referrer, scheme) = ref.map(Self.referrer) ?? ("", "")
                let location = locations.next().map { $0.id == "(unknown)" ? "" : $0.id } ?? ""
                let size = sizes.next().flatMap { sizeOfClass[$0.id] } ?? ""
                let fields = [path.stats.path, path.stats.title, path.stats.event ? "1" : "0", "", "", "",
                              "stats-\(path.stats.pathID)-\(day)-\(index)", "0", referrer, scheme, size, location, "1",
                              rfc3339(time)]
                out += fields.map(quoted).joined(separator: ",") + "\n"
                if out.utf8.count >= 1 << 20 {
                    try sink(Data(out.utf8))
                    out = ""
                }
            }
        }
        try sink(Data(out.utf8))
    }

    /// Each visit's day, its number within the day and its time, in time order. A day whose
    /// hours do not add up to its count (a reply without `hourly`) spreads over the whole day.
    static func times(_ days: [DayStats], now: Int) -> [(day: String, index: Int, time: Int)] {
        var out: [(String, Int, Int)] = []
        for day in days.sorted(by: { $0.day < $1.day }) where day.daily > 0 {
            guard let midnight = Self.midnight(day.day) else { continue }
            var hours = day.hourly
            if hours.count != 24 || hours.reduce(0, +) != day.daily {
                hours = (0..<24).map { h in (day.daily * (h + 1)) / 24 - (day.daily * h) / 24 }
            }
            var index = 0
            for (hour, count) in hours.enumerated() where count > 0 {
                for i in 0..<count {
                    let time = midnight + hour * 3600 + (i * 3600) / count
                    out.append((day.day, index, min(time, now)))
                    index += 1
                }
            }
        }
        return out
    }

    /// `yyyy-mm-dd` as UTC seconds at its midnight.
    public static func midnight(_ day: String) -> Int? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        return Timestamp.daysFromCivil(parts[0], parts[1], parts[2]) * 86400
    }

    static func rfc3339(_ time: Int) -> String {
        let (y, m, d) = Timestamp.civilFromDays(time >= 0 ? time / 86400 : (time - 86399) / 86400)
        let s = ((time % 86400) + 86400) % 86400
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, s / 3600, s / 60 % 60, s % 60)
    }

    /// A referrer of the statistics as the export's two columns. 2.7 keeps most referrers as
    /// whole URLs under scheme `o`: those go as they are (`ExportRowHit` sends a whole URL as is).
    static func referrer(_ entry: StatsEntry) -> (String, String) {
        if entry.name.isEmpty { return ("", "") }
        switch entry.refScheme {
        case "c", "g": return (entry.name, entry.refScheme)
        default: return (entry.name, ExportRowHit.hasURLScheme(entry.name) ? "o" : "h")
        }
    }

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Deals `total` values out of entries in proportion to their counts, interleaved (smooth
    /// weighted round-robin): counts past `total` are cut from the last entries, and when they
    /// add up to less, the rest get nil (no value).
    final class Dealer {
        private var entries: [StatsEntry?] = []
        private var weights: [Int] = []
        private var current: [Int] = []
        private let total: Int

        init(_ list: [StatsEntry], total: Int) {
            self.total = total
            var left = total
            for entry in list where entry.count > 0 && left > 0 {
                let n = min(entry.count, left)
                entries.append(entry)
                weights.append(n)
                left -= n
            }
            if left > 0 { entries.append(nil); weights.append(left) }
            current = weights.map { _ in 0 }
        }

        func next() -> StatsEntry? {
            guard total > 0, !entries.isEmpty else { return nil }
            var best = 0
            for i in weights.indices {
                current[i] += weights[i]
                if current[i] > current[best] { best = i }
            }
            current[best] -= total
            return entries[best]
        }
    }
}
