import Foundation
import Testing
@testable import GoatImportCore

/// The rebuild of history from statistics, on replies a real GoatCounter 2.7.0 gave after the
/// real 2.4.1 export (Tests/Fixtures/goatcounter-export) was imported into it: `/stats/hits`
/// (two paths, one an event, over 2026-11-27/28), and for `/a,b;c` (path 3) its referrers
/// (`/stats/hits/3`), locations and sizes (`/stats/{page}?include_paths=3`).
struct StatisticsRebuildTests {
    static let hits = #"""
    {"hits":[{"count":14,"path_id":3,"path":"/a,b;c","event":false,"title":"Line\nbreak title","max":7,"stats":[{"day":"2026-11-27","hourly":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,1,1,1,1,0,0,1,1],"daily":7},{"day":"2026-11-28","hourly":[1,0,1,1,1,1,0,1,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0],"daily":7}]},{"count":7,"path_id":7,"path":"signup-click","event":true,"title":"","max":5,"stats":[{"day":"2026-11-27","hourly":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,0,1,0,0],"daily":2},{"day":"2026-11-28","hourly":[0,1,0,0,0,0,1,0,0,0,1,0,0,0,0,1,0,0,0,1,0,0,0,0],"daily":5}]}],"total":85,"more":false}
    """#
    static let refs = #"{"refs":[{"name":"https://github.com/arp242/goatcounter","count":11,"ref_scheme":"o"},{"name":"newsletter","count":3,"ref_scheme":"c"}],"more":false}"#
    static let locations = #"{"stats":[{"id":"(unknown)","name":"(unknown)","count":5},{"id":"BR","name":"Brazil","count":3},{"id":"FR","name":"France","count":3},{"id":"JP","name":"Japan","count":3}],"more":false}"#
    static let sizes = #"{"stats":[{"id":"phone","name":"","count":5},{"id":"tablet","name":"","count":0},{"id":"desktop","name":"","count":4},{"id":"desktophd","name":"","count":0},{"id":"unknown","name":"","count":5}],"more":false}"#

    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T { try JSONDecoder().decode(T.self, from: Data(json.utf8)) }

    static func history() throws -> [StatisticsRebuild.PathHistory] {
        let paths = try decode(HitStatsPage.self, hits).hits
        return [StatisticsRebuild.PathHistory(stats: paths[0], referrers: try decode(StatsEntriesPage.self, refs).entries,
                                              locations: try decode(StatsEntriesPage.self, locations).entries,
                                              sizes: try decode(StatsEntriesPage.self, sizes).entries),
                StatisticsRebuild.PathHistory(stats: paths[1])]
    }

    /// The hits the rebuilt file becomes, read back through `goatimport --dry-run`: the objects
    /// the import would post.
    static func posted(_ csv: Data) throws -> [[String: Any]] {
        let file = TestPaths.tempDir().appendingPathComponent("rebuild.csv")
        try csv.write(to: file)
        let r = try run(TestPaths.binary, ["--dry-run", "--format", "goatcounter-csv", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    static func tally(_ hits: [[String: Any]], _ key: String) -> [String: Int] {
        hits.reduce(into: [:]) { $0[($1[key] as? String) ?? "", default: 0] += 1 }
    }

    @Test("the breakdowns decode from refs and stats replies; hours come with the days")
    func decoding() throws {
        #expect(try Self.decode(StatsEntriesPage.self, Self.refs).entries[1] == StatsEntry(name: "newsletter", count: 3, refScheme: "c"))
        #expect(try Self.decode(StatsEntriesPage.self, Self.locations).entries[1] == StatsEntry(id: "BR", name: "Brazil", count: 3))
        let day = try Self.decode(HitStatsPage.self, Self.hits).hits[0].days[0]
        #expect(day.hourly.count == 24 && day.hourly.reduce(0, +) == day.daily)
        // Two sites agree on a day by its count; where in the day the visits fell is placement.
        #expect(day == DayStats(day: "2026-11-27", daily: 7))
        #expect(day != DayStats(day: "2026-11-27", daily: 6, hourly: day.hourly))
    }

    @Test("each counted visit becomes one hit of its own session, in its day and hour, title and event kept")
    func countsAndHours() throws {
        let history = try Self.history()
        let hits = try Self.posted(StatisticsRebuild.csv(history, now: 2_000_000_000))
        #expect(hits.count == 14 + 7)
        #expect(Set(hits.map { $0["session"] as! String }).count == hits.count, "every hit a visit of its own")
        for path in history.map(\.stats) {
            let mine = hits.filter { $0["path"] as? String == path.path }
            #expect(mine.allSatisfy { ($0["title"] as? String ?? "") == path.title && ($0["event"] as? Bool ?? false) == path.event })
            for day in path.days {
                let times = mine.map { $0["created_at"] as! String }.filter { $0.hasPrefix(day.day) }
                var hours = Array(repeating: 0, count: 24)
                for t in times { hours[Int(t.dropFirst(11).prefix(2))!] += 1 }
                #expect(hours == day.hourly, "\(path.path) \(day.day)")
            }
        }
    }

    @Test("a path's referrers, locations and size classes are dealt over its hits in proportion, interleaved")
    func breakdowns() throws {
        let hits = try Self.posted(StatisticsRebuild.csv(try Self.history(), now: 2_000_000_000)).filter { $0["path"] as? String == "/a,b;c" }
        #expect(Self.tally(hits, "ref") == ["https://github.com/arp242/goatcounter": 11, "": 3])
        #expect(Self.tally(hits, "query") == ["?utm_source=newsletter": 3, "": 11], "a campaign as count.js sends it")
        #expect(Self.tally(hits, "location") == ["": 5, "BR": 3, "FR": 3, "JP": 3])
        #expect(Self.tally(hits, "size") == ["300,0,1": 5, "1920,0,1": 4, "": 5])
        // Both days get campaign hits: dealt, not in one block at the end.
        let campaignDays = Set(hits.filter { $0["query"] != nil }.map { ($0["created_at"] as! String).prefix(10) })
        #expect(campaignDays == ["2026-11-27", "2026-11-28"])
    }

    @Test("the same statistics give the same file; no time lies past now")
    func deterministicAndBounded() throws {
        let history = try Self.history()
        #expect(StatisticsRebuild.csv(history, now: 2_000_000_000) == StatisticsRebuild.csv(history, now: 2_000_000_000))
        let now = StatisticsRebuild.midnight("2026-11-28")! + 15 * 3600 + 5   // 15:00:05, inside the last hour counted
        let times = StatisticsRebuild.times(history[1].stats.days, now: now).map(\.time)
        #expect(times.allSatisfy { $0 <= now })
        #expect(times.count == 7)
    }

    @Test("a large history is written in pieces of about a megabyte, cut only between rows")
    func pieces() throws {
        let days = (1...28).map { DayStats(day: String(format: "2026-02-%02d", $0), daily: 1000) }
        var stats = try Self.decode(HitStatsPage.self, Self.hits).hits[0]
        stats.days = days
        var pieces: [Data] = []
        StatisticsRebuild.write([StatisticsRebuild.PathHistory(stats: stats)], now: Int.max) { pieces.append($0) }
        #expect(pieces.count > 1)
        #expect(pieces.dropLast().allSatisfy { $0.last == UInt8(ascii: "\n") && $0.count >= 1 << 20 })
        let rows = try ExportCSV.parse(csv: pieces.reduce(Data(), +))
        #expect(rows.count == 28_000)
        #expect(Set(rows.map(\.session)).count == 28_000)
    }

    @Test("a day without hours, or whose hours do not add up, spreads its count over the day")
    func noHours() {
        let times = StatisticsRebuild.times([DayStats(day: "2026-01-02", daily: 48), DayStats(day: "2026-01-01", daily: 3, hourly: [1])],
                                            now: Int.max)
        #expect(times.count == 51)
        #expect(times.prefix(3).map(\.day) == ["2026-01-01", "2026-01-01", "2026-01-01"], "days in order")
        let second = times.dropFirst(3).map { ($0.time % 86400) / 3600 }
        #expect(second == (0..<24).flatMap { [$0, $0] }, "two an hour")
        #expect(times.map(\.time) == times.map(\.time).sorted())
    }

    @Test("dealing: counts past the total are cut, short ones leave hits without a value")
    func dealer() {
        let over = StatisticsRebuild.Dealer([StatsEntry(id: "a", count: 3), StatsEntry(id: "b", count: 5)], total: 4)
        #expect((0..<4).compactMap { _ in over.next()?.id }.sorted() == ["a", "a", "a", "b"])
        let short = StatisticsRebuild.Dealer([StatsEntry(id: "a", count: 1)], total: 3)
        #expect((0..<3).compactMap { _ in short.next()?.id } == ["a"])
        let none = StatisticsRebuild.Dealer([], total: 2)
        #expect(none.next() == nil)
    }

    @Test("migrate takes --since only with --from-statistics: an export holds everything")
    func sinceNeedsStatistics() throws {
        let r = try run(TestPaths.binary, ["migrate", "--from", "http://127.0.0.1:9", "--to", "http://127.0.0.1:9", "--since", "2026-01-01"],
                        environment: testEnvironment())
        #expect(r.status == 1)
        #expect(r.stderr.contains("--since goes with --from-statistics"), "\(r.stderr)")
    }

    @Test("the range is read month by month, both ends included")
    func months() {
        let m = StatisticsHistory.months(since: "2025-11-15", until: "2026-02-03")
        #expect(m.map(\.0) == ["2025-11-15", "2025-12-01", "2026-01-01", "2026-02-01"])
        #expect(m.map(\.1) == ["2025-11-30", "2025-12-31", "2026-01-31", "2026-02-03"])
        #expect(StatisticsHistory.months(since: "2026-02-03", until: "2026-02-03").count == 1)
        #expect(StatisticsHistory.months(since: "2026-03-01", until: "2026-02-03").isEmpty)
    }

    @Test("a referrer with a URL scheme is sent whole; a 2.4 host-and-path one gets https")
    func urlScheme() {
        #expect(ExportRowHit.hasURLScheme("https://duckduckgo.com"))
        #expect(ExportRowHit.hasURLScheme("android-app://com.slack"))
        #expect(!ExportRowHit.hasURLScheme("twitter.com/search?q=https://t.co/abc"))
        #expect(!ExportRowHit.hasURLScheme("1ab://x"))
        #expect(!ExportRowHit.hasURLScheme("com.slack"))
        #expect(!ExportRowHit.hasURLScheme("x:"))
    }
}
