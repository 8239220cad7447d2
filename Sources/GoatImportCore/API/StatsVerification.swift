import Foundation

/// Verification through GoatCounter's statistics (`GET /api/v0/stats/hits`), for a site whose
/// export is empty: since 2.6 a site keeps individual pageviews only with its setting
/// "Individual pageviews" on (off by default), and the statistics are all that is left.
///
/// What a real 2.7.0 counts there (measured): visits, not pageviews. A path counts once per
/// session, on the day of the session's first view of it; a later view in the same session,
/// even on the next day, adds nothing; bots are left out and events are listed as paths. Days
/// are those of the key's user's time zone (the user setting `timezone`, UTC unless changed):
/// the server keeps hourly counts in UTC and shifts them by the zone's offset at the time of the
/// request, rounded to whole hours (Asia/Kolkata's +5:30 files 18:10 UTC on the next day), for
/// every day alike (in November, Europe/Amsterdam's July days are shifted by +1, not +2). The
/// expectation side is `ExpectedHitsSink.visits`.
public enum StatsVerification {
    /// The zone of GoatCounter's user setting `timezone`, written `CC.Area/City`
    /// (`NL.Europe/Amsterdam`) or `.UTC`; nil when it names no zone Foundation knows.
    public static func timeZone(setting: String?) -> TimeZone? {
        setting.flatMap { TimeZone(identifier: zoneName($0)) }
    }

    /// The zone's name in the setting: `Europe/Amsterdam`, `UTC`.
    public static func zoneName(_ setting: String) -> String {
        let name = setting.firstIndex(of: ".").map { String(setting[setting.index(after: $0)...]) } ?? setting
        return name.isEmpty ? "UTC" : name
    }

    /// The shift the server applies to its UTC hours: `zone`'s offset at `now`, in whole hours
    /// (half away from zero), as seconds.
    public static func offset(of zone: TimeZone, at now: Date = Date()) -> Int {
        Int((Double(zone.secondsFromGMT(for: now)) / 3600).rounded()) * 3600
    }

    /// `+09:00`, `-03:00`, `+00:00`.
    public static func describe(offset: Int) -> String {
        (offset < 0 ? "-" : "+") + String(format: "%02d:%02d", abs(offset) / 3600, abs(offset) / 60 % 60)
    }

    /// The day (`yyyy-mm-dd`) of an RFC 3339 time shifted by `offset` seconds.
    public static func day(_ time: String, offset: Int) -> String? {
        guard let seconds = seconds(time) else { return nil }
        return String(Timestamp.rfc3339(seconds + offset).prefix(10))
    }

    /// `day` moved by `days` (`2026-11-01`, -1 → `2026-10-31`).
    public static func day(_ day: String, plus days: Int) -> String? {
        guard let seconds = seconds(day + "T00:00:00Z") else { return nil }
        return String(Timestamp.rfc3339(seconds + days * 86400).prefix(10))
    }

    /// The range to ask for: a day either side, as the server picks its paths by the hour with
    /// `end` read as that day's midnight (a path seen only on the end day is left out).
    public static func query(firstDay: String, lastDay: String) -> (start: String, end: String)? {
        guard let start = day(firstDay, plus: -1), let end = day(lastDay, plus: 1) else { return nil }
        return (start, end)
    }

    private static func seconds(_ time: String) -> Int? {
        guard time.utf8.count >= 19 else { return nil }
        var time = time
        return time.withUTF8 { Timestamp.parseISO8601($0.baseAddress!, $0.count)?.seconds }
    }
}


extension Verification {
    /// Visits per cleaned path and day from the statistics, for the days `firstDay...lastDay`
    /// (`yyyy-mm-dd` in the user's zone), compared with `expected` (`ExpectedHitsSink.visits`).
    /// Events and days outside the range are counted as not compared.
    public init(expectedVisits expected: [DayPath: Int], stats: [PathStats], firstDay: String, lastDay: String,
                from: String, to: String) {
        var recorded: [DayPath: Int] = [:]
        var notCompared: [String: Int] = [:]
        for path in stats {
            for day in path.days where day.daily != 0 {
                if path.event { notCompared["event visits", default: 0] += day.daily; continue }
                if day.day < firstDay || day.day > lastDay { notCompared["visits on days outside \(firstDay) to \(lastDay)", default: 0] += day.daily; continue }
                recorded[DayPath(day: day.day, path: PathCleaner.clean(path.path)), default: 0] += day.daily
            }
        }
        self.init(expected: expected.filter { $0.key.day >= firstDay && $0.key.day <= lastDay }, recorded: recorded,
                  notCompared: notCompared, from: from, to: to)
    }
}
