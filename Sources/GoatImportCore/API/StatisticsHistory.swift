import Foundation

/// Reads what a site's statistics keep, for `StatisticsRebuild`: the counts per path and day
/// (with their hours) month by month, so no reply carries more than a month of days per path,
/// then each path's referrers, locations and screen-size classes over the whole range (three
/// requests a path: per day they would be three a path and day).
public enum StatisticsHistory {
    /// `since` and `until` are `yyyy-mm-dd`, both included. `progress` hears each step.
    public static func fetch(_ api: GoatCounterAPI, since: String, until: String,
                             progress: (String) -> Void = { _ in }) throws -> [StatisticsRebuild.PathHistory] {
        var order: [Int] = []
        var paths: [Int: PathStats] = [:]
        var days: [Int: [String: DayStats]] = [:]
        for (start, end) in months(since: since, until: until) {
            let page = try api.hitStats(start: start, end: end)
            for path in page {
                if paths[path.pathID] == nil { order.append(path.pathID) }
                paths[path.pathID] = path   // the latest title
                for day in path.days where day.daily > 0 { days[path.pathID, default: [:]][day.day] = day }
            }
            if !page.isEmpty { progress("\(start)…\(end): \(page.count) paths") }
        }
        var history: [StatisticsRebuild.PathHistory] = []
        for (n, id) in order.enumerated() {
            guard var stats = paths[id], let byDay = days[id], !byDay.isEmpty else { continue }
            stats.days = byDay.values.sorted { $0.day < $1.day }
            stats.count = stats.days.reduce(0) { $0 + $1.daily }
            progress("path \(n + 1) of \(order.count): \(stats.path): referrers, locations, sizes")
            history.append(StatisticsRebuild.PathHistory(
                stats: stats,
                referrers: try api.statsEntries(.referrers(pathID: id), start: since, end: until),
                locations: try api.statsEntries(.page("locations", pathID: id), start: since, end: until),
                sizes: try api.statsEntries(.page("sizes", pathID: id), start: since, end: until)))
        }
        return history
    }

    /// The calendar months that cover `since`…`until`, cut to it: `[(start, end)]`, both included.
    static func months(since: String, until: String) -> [(String, String)] {
        guard let first = StatisticsRebuild.midnight(since), let last = StatisticsRebuild.midnight(until), first <= last else { return [] }
        var out: [(String, String)] = []
        var (y, m, _) = Timestamp.civilFromDays(first / 86400)
        var start = first / 86400
        let end = last / 86400
        while start <= end {
            (m, y) = m == 12 ? (1, y + 1) : (m + 1, y)
            let next = Timestamp.daysFromCivil(y, m, 1)
            out.append((day(start), day(min(next - 1, end))))
            start = next
        }
        return out
    }

    public static func day(_ days: Int) -> String {
        let (y, m, d) = Timestamp.civilFromDays(days)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }
}
