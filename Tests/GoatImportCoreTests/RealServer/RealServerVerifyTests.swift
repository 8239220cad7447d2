import Foundation
import XCTest
@testable import GoatImportCore

/// `verify` against real servers at their default limits: a stock 2.7.0 (no individual
/// pageviews, so an empty export) is verified through its statistics; with the setting on, the
/// export is compared as before. The log is the real nginx fixture, imported by the binary.
final class RealServerVerifyTests: XCTestCase {
    static let log = TestPaths.fixture("nginx/combined.log")

    typealias Outcome = (status: Int32, stdout: String, stderr: String)

    /// Imports `log` (less the lines `drop` picks) and waits until the server stored it.
    func imported(_ server: RealGoatCounter, _ log: String = RealServerVerifyTests.log, dropping drop: ((String) -> Bool)? = nil) throws {
        var path = log
        if let drop {
            let text = try String(contentsOfFile: log, encoding: .isoLatin1)   // nginx's \x escapes are ASCII; keep bytes as they are
            path = TestPaths.tempDir().appendingPathComponent("access.log").path
            let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !drop(String($0)) }
            try kept.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .isoLatin1)
        }
        let r = try GoatImportCoreTests.run(TestPaths.binary, ["--site", server.site.url, "--no-state", path],
                                            environment: testEnvironment(key: server.site.key))
        XCTAssertEqual(r.status, 0, r.stderr)
        try server.waitUntilStored(server.site)
    }

    func verify(_ server: RealGoatCounter, _ log: String = RealServerVerifyTests.log) throws -> Outcome {
        let r = try GoatImportCoreTests.run(TestPaths.binary, ["verify", "--site", server.site.url, "--since", "2026-11-01", log],
                                            environment: testEnvironment(key: server.site.key))
        return (r.status, r.stdout, r.stderr)
    }

    /// `verify` of `log` on a stock 2.7.0 that holds `log` (less the lines `drop` picks; nothing
    /// unless `importing`), once `sql` has changed its database.
    func verifyStock270(_ log: String = RealServerVerifyTests.log, importing: Bool = true, dropping drop: ((String) -> Bool)? = nil,
                        after sql: String? = nil) throws -> (server: RealGoatCounter, r: Outcome) {
        let server = try RealGoatCounter(.v2_7_0, collectIndividualPageviews: false, rateLimits: .defaults)
        if importing { try imported(server, log, dropping: drop) }
        if let sql { _ = try server.sql(sql) }
        return (server, try verify(server, log))
    }

    func testStock270VerifiesThroughStatistics() throws {
        let r = try verifyStock270().r
        XCTAssertEqual(r.status, 0, "\(r.stdout)\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("is empty: the site does not keep individual pageviews"), r.stdout)
        XCTAssertTrue(r.stdout.contains("per-day visit comparison"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\"Individual pageviews\""), r.stdout)
        XCTAssertTrue(r.stdout.contains("0 missing, 0 extra"), r.stdout)
        XCTAssertTrue(r.stdout.contains("OK: GoatCounter has every visit of the logs"), r.stdout)
    }

    /// The fixture's hits are at 17:49 UTC: in Tokyo (+9) they are on the next day, where the
    /// server now files them; the expectation must move with it.
    func testDaysFollowTheUsersTimeZone() throws {
        let r = try verifyStock270(after: "update users set settings = json_set(settings, '$.timezone', 'JP.Asia/Tokyo')").r
        XCTAssertEqual(r.status, 0, "\(r.stdout)\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("2026-11-28 to 2026-11-28 (days in Asia/Tokyo"), r.stdout)
    }

    func testMissingPathIsReported() throws {
        let r = try verifyStock270(dropping: { $0.contains("\"GET /about") }).r
        XCTAssertEqual(r.status, 1, "\(r.stdout)\n\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("2026-11-27") }
        XCTAssertEqual(rows.count, 1, r.stdout)
        let cells = rows.first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) ?? []
        XCTAssertEqual(cells.count, 6, r.stdout)
        if cells.count == 6 {
            XCTAssertEqual(cells[1], "/about")
            XCTAssertGreaterThan(Int(cells[2]) ?? 0, 0, "the log has visits of /about")
            XCTAssertEqual(cells[3], "0")
            XCTAssertEqual(cells[5], "missing")
        }
        XCTAssertTrue(r.stdout.contains("\nMISMATCH"), r.stdout)
    }

    func testNoDataAtAll() throws {
        let r = try verifyStock270(importing: false).r
        XCTAssertEqual(r.status, 1, "\(r.stdout)\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("GoatCounter has no data for this site on these days"), r.stdout)
        XCTAssertTrue(r.stdout.contains(" 0 recorded;"), r.stdout)
    }

    func testKeyWithoutStatisticsPermission() throws {
        let (server, r) = try verifyStock270(after: "update api_tokens set permissions = permissions & ~64")
        XCTAssertEqual(r.status, 1, "\(r.stdout)\n\(r.stderr)")
        XCTAssertTrue(r.stderr.contains("needs the key's \"Read statistics\" permission"), r.stderr)
        XCTAssertFalse((r.stdout + r.stderr).contains("<html"), r.stderr)
        XCTAssertFalse((r.stdout + r.stderr).contains(server.site.key), "the key is never printed")
    }

    /// 150 paths: the statistics come in pages of 100, the second asked for without the first's.
    func testStatisticsPagedPastOneHundredPaths() throws {
        let log = TestPaths.tempDir().appendingPathComponent("access.log").path
        try RealServerRunTests.append(RealServerRunTests.lines(0..<150), to: log)
        let r = try verifyStock270(log).r
        XCTAssertEqual(r.status, 0, "\(r.stdout)\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("150 path/day pairs on 1 day: 150 match; 150 visits expected, 150 recorded"), r.stdout)
    }

    /// With "Individual pageviews" on, the export holds the hits: the exact comparison, per hit.
    func testExportComparisonWhenPageviewsAreKept() throws {
        for version in RealGoatCounter.Version.allCases {
            // 2.4.1 counts the import's requests against its one export an hour: raised there.
            let server = try RealGoatCounter(version, collectIndividualPageviews: true, rateLimits: version == .v2_4_1 ? .raised : .defaults)
            try imported(server)
            let r = try verify(server)
            XCTAssertEqual(r.status, 0, "\(version): \(r.stdout)\n\(r.stderr)")
            XCTAssertTrue(r.stdout.contains("OK: GoatCounter has every hit of the logs, once"), "\(version): \(r.stdout)")
        }
    }
}
