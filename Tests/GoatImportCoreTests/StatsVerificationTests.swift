import Foundation
import Testing
@testable import GoatImportCore

/// The statistics comparison of `verify`: visits as a real 2.7.0 counts them (first view of a
/// path in a session, on that view's day in the user's zone), and the statistics side.
struct StatsVerificationTests {
    func d(_ day: String, _ path: String) -> DayPath { DayPath(day: day, path: path) }

    /// Feeds hits, as the encoder writes them, to a sink.
    func sink(_ hits: [String], dayOffset: Int = 0) throws -> ExpectedHitsSink {
        let sink = ExpectedHitsSink(dayOffset: dayOffset)
        for (i, hit) in hits.enumerated() {
            let position = LinePosition(input: 0, line: i + 1, endOffset: Int64(i * 100))
            let buffer = try sink.bufferForNextHit(at: position)
            Array(hit.utf8).withUnsafeBytes { buffer.append($0) }
            try sink.didEncodeHit(at: position)
        }
        return sink
    }

    static let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

    func hit(_ path: String, _ time: String, session: String? = nil, ip: String = "198.51.100.1", ua: String = ua) -> String {
        let s = session.map { #","session":"\#($0)""# } ?? ""
        return #"{"path":"\#(path)","created_at":"\#(time)","ip":"\#(ip)","user_agent":"\#(ua)"\#(s)}"#
    }

    @Test("a path counts once per visit, on the day of the visit's first view of it")
    func visitsPerSession() throws {
        // The same hits a real 2.7.0 answered with /a 2 on 11-01 and /b 1 on 11-02.
        let s = try sink([
            hit("/a", "2026-11-01T23:30:00Z", session: "1"), hit("/a", "2026-11-02T00:10:00Z", session: "1"),
            hit("/b", "2026-11-02T00:20:00Z", session: "1"),
            hit("/a", "2026-11-01T10:00:00Z", session: "2"), hit("/A/", "2026-11-01T10:05:00Z", session: "2"),
        ])
        #expect(s.visits == [d("2026-11-01", "/a"): 2, d("2026-11-02", "/b"): 1])
        #expect(s.counts == [d("2026-11-01", "/a"): 3, d("2026-11-02", "/a"): 1, d("2026-11-02", "/b"): 1], "pageviews stay per hit")
    }

    @Test("without sessions a visit is the address and user agent")
    func visitsWithoutSessions() throws {
        let s = try sink([hit("/a", "2026-11-01T10:00:00Z"), hit("/a", "2026-11-01T11:00:00Z"),
                          hit("/a", "2026-11-01T12:00:00Z", ip: "198.51.100.2"), hit("/a", "2026-11-01T13:00:00Z", ua: "curl-like")])
        #expect(s.visits == [d("2026-11-01", "/a"): 3])
    }

    @Test("days are the user's zone's, shifted as the server does")
    func zone() throws {
        let tokyo = StatsVerification.offset(of: try #require(StatsVerification.timeZone(setting: "JP.Asia/Tokyo")))
        #expect(tokyo == 9 * 3600)
        let s = try sink([hit("/a", "2026-11-01T17:49:00Z", session: "1"), hit("/b", "2026-11-01T14:59:59Z", session: "1")], dayOffset: tokyo)
        #expect(s.visits == [d("2026-11-02", "/a"): 1, d("2026-11-01", "/b"): 1])
        #expect(StatsVerification.timeZone(setting: ".UTC")?.secondsFromGMT() == 0)
        #expect(StatsVerification.zoneName("NL.Europe/Amsterdam") == "Europe/Amsterdam")
        #expect(StatsVerification.timeZone(setting: "XX.Not/AZone") == nil)
        // Measured on 2.7.0: +5:30 is shifted by 6 hours (18:10 UTC is filed on the next day) …
        let kolkata = TimeZone(identifier: "Asia/Kolkata")!
        #expect(StatsVerification.offset(of: kolkata) == 6 * 3600)
        #expect(StatsVerification.day("2026-11-05T18:10:00Z", offset: 6 * 3600) == "2026-11-06")
        // … and a zone's offset now applies to every day: asked in November (+1), Amsterdam files
        // 22:30 UTC on 1 July (00:30 local summer time) on 1 July.
        let amsterdam = TimeZone(identifier: "Europe/Amsterdam")!
        let november = Date(timeIntervalSince1970: 1_795_000_000)   // 2026-11-18
        #expect(StatsVerification.offset(of: amsterdam, at: november) == 3600)
        #expect(StatsVerification.day("2026-07-01T22:30:00Z", offset: 3600) == "2026-07-01")
        #expect(StatsVerification.describe(offset: -3 * 3600) == "-03:00")
        #expect(StatsVerification.describe(offset: 9 * 3600) == "+09:00")
        #expect(StatsVerification.day("", offset: 0) == nil)
    }

    @Test("the query reaches a day either side: the server reads end as that day's midnight")
    func query() {
        #expect(StatsVerification.query(firstDay: "2026-11-01", lastDay: "2026-11-30")! == ("2026-10-31", "2026-12-01"))
        #expect(StatsVerification.query(firstDay: "2026-01-01", lastDay: "2026-12-31")! == ("2025-12-31", "2027-01-01"))
        #expect(StatsVerification.query(firstDay: "soon", lastDay: "2026-12-31") == nil)
    }

    func stats(_ json: String) throws -> [PathStats] { try JSONDecoder().decode(HitStatsPage.self, from: Data(json.utf8)).hits }

    @Test("the statistics side: events and days outside the range are not compared")
    func statisticsSide() throws {
        let page = try stats("""
            {"hits":[{"count":3,"path_id":1,"path":"/a","event":false,"stats":[{"day":"2026-10-31","daily":1},{"day":"2026-11-01","daily":2},{"day":"2026-11-02","daily":0}]},
                     {"count":1,"path_id":2,"path":"click","event":true,"stats":[{"day":"2026-11-01","daily":1}]},
                     {"count":1,"path_id":3,"path":"/B?utm_source=x","event":false,"stats":[{"day":"2026-11-02","daily":1}]}],"more":false}
            """)
        let v = Verification(expectedVisits: [d("2026-11-01", "/a"): 2, d("2026-11-02", "/b"): 2, d("2026-11-03", "/a"): 5],
                             stats: page, firstDay: "2026-11-01", lastDay: "2026-11-02", from: "2026-11-01T10:00:00Z", to: "2026-11-02T10:00:00Z")
        #expect(v.differences.map(\.key) == [d("2026-11-02", "/b")])
        #expect(v.missing == 1 && v.extra == 0 && !v.matches)
        #expect(v.notCompared == ["event visits": 1, "visits on days outside 2026-11-01 to 2026-11-02": 1])
        #expect(v.expectedTotal == 4, "expectations outside the days are left out")
    }

    @Test("real servers' site settings: the misspelt key and the comma-separated ignore list")
    func servedSettings() throws {
        let site = try JSONDecoder().decode(Site.self, from: Data(#"{"id":1,"setttings":{"collect":190,"ignore_ips":"192.0.2.1, 192.0.2.2"}}"#.utf8))
        #expect(site.settings?.collect == 190)
        #expect(site.settings?.ignoreIPs == ["192.0.2.1", "192.0.2.2"])
        let none = try JSONDecoder().decode(Site.self, from: Data(#"{"id":1,"setttings":{"collect":446,"ignore_ips":""}}"#.utf8))
        #expect(none.settings?.ignoreIPs == [])
        #expect(none.settings?.collect.map { $0 & 256 != 0 } == true)
    }
}
