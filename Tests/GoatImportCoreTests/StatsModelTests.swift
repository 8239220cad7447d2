import Foundation
import Testing
@testable import GoatImportCore

/// `GET /api/v0/stats/hits` as a real GoatCounter 2.7.0 answered it (hourly arrays shortened),
/// after three pageviews: two of /a in one session on 2026-11-29 and one of /b on 2026-11-28.
struct StatsModelTests {
    @Test("a real 2.7.0 stats/hits page decodes per path and day")
    func realPage() throws {
        let json = """
        {"hits":[{"count":1,"path_id":2,"path":"/b","event":false,"title":"","max":1,
                  "stats":[{"day":"2026-11-27","hourly":[0,0],"daily":0},{"day":"2026-11-28","hourly":[0,1],"daily":1}]},
                 {"count":1,"path_id":1,"path":"/a","event":false,"title":"","max":1,
                  "stats":[{"day":"2026-11-29","hourly":[0,1],"daily":1}]}],
         "total":2,"more":false}
        """
        let page = try JSONDecoder().decode(HitStatsPage.self, from: Data(json.utf8))
        #expect(page.more == false)
        #expect(page.hits.map(\.path) == ["/b", "/a"])
        #expect(page.hits.map(\.pathID) == [2, 1])
        #expect(page.hits[0].days == [DayStats(day: "2026-11-27", daily: 0), DayStats(day: "2026-11-28", daily: 1)])
        // The two pageviews of /a in one session count once: the statistics count visits.
        #expect(page.hits[1].days.map(\.daily) == [1])
    }

    @Test("a site without pageviews in the range answers hits null")
    func nullHits() throws {
        let page = try JSONDecoder().decode(HitStatsPage.self, from: Data(#"{"hits":null,"total":0,"more":false}"#.utf8))
        #expect(page.hits.isEmpty)
        #expect(!page.more)
    }
}
