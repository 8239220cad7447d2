import Foundation
import XCTest
@testable import GoatImportCore

/// `migrate --from-statistics` between real GoatCounter 2.7.0 servers. The source is stock (no
/// individual pageviews, so its export is empty), filled through the binary from real data: the
/// nginx fixture log and the real 2.4.1 export (two days, referrers, campaigns, locations, sizes,
/// events, titles with commas and line breaks). The target's statistics must equal the source's
/// per path and day, and per path in referrers, locations and size classes.
final class RealServerMigrateStatisticsTests: XCTestCase {
    static let since = "2026-11-01"

    struct PathSnapshot: Equatable, CustomStringConvertible {
        var title = "", event = false
        var days: [String: Int] = [:]
        var referrers: [String] = [], locations: [String] = [], sizes: [String] = []
        var description: String { "\(title) \(event) \(days) refs \(referrers) locations \(locations) sizes \(sizes)" }
    }

    /// What the statistics API says of every path (the markers of `waitUntilStored` left out).
    func snapshot(_ server: RealGoatCounter, _ site: RealGoatCounter.Site) throws -> [String: PathSnapshot] {
        let api = try server.api(site)
        let until = StatisticsHistory.day(Int(Date().timeIntervalSince1970) / 86400 + 1)
        var out: [String: PathSnapshot] = [:]
        for path in try api.hitStats(start: Self.since, end: until) where !path.path.hasPrefix(RealGoatCounter.sentinelPrefix) {
            func entries(_ b: GoatCounterAPI.Breakdown) throws -> [String] {
                try api.statsEntries(b, start: Self.since, end: until).filter { $0.count > 0 }
                    .map { "\($0.id)|\($0.name)|\($0.refScheme)|\($0.count)" }.sorted()
            }
            out[path.path] = PathSnapshot(
                title: path.title, event: path.event,
                days: Dictionary(uniqueKeysWithValues: path.days.filter { $0.daily > 0 }.map { ($0.day, $0.daily) }),
                referrers: try entries(.referrers(pathID: path.pathID)),
                locations: try entries(.page("locations", pathID: path.pathID)),
                sizes: try entries(.page("sizes", pathID: path.pathID)))
        }
        return out
    }

    func filledSource(_ version: RealGoatCounter.Version = .v2_7_0) throws -> (RealGoatCounter, [String: PathSnapshot]) {
        let source = try RealGoatCounter(version)
        let site = source.sites[0]
        for input in [["--format", "combined", TestPaths.fixture("nginx/combined.log")], [ExportCSVTests.gzPath]] {
            let r = try GoatImportCoreTests.run(TestPaths.binary, ["--site", site.url, "--no-state"] + input, environment: testEnvironment(key: site.key))
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        try source.waitUntilStored(site)
        let expected = try snapshot(source, site)
        XCTAssertGreaterThan(expected.count, 5, "\(expected)")
        return (source, expected)
    }

    func arguments(_ source: RealGoatCounter, _ target: RealGoatCounter, state: String) -> ([String], [String: String]) {
        var env = testEnvironment(key: target.sites[0].key)
        env["GOATCOUNTER_SOURCE_API_KEY"] = source.sites[0].key
        return (["migrate", "--from-statistics", "--since", Self.since, "--from", source.sites[0].url, "--to", target.sites[0].url,
                 "--state", state], env)
    }

    func assertEqualStatistics(_ target: [String: PathSnapshot], _ source: [String: PathSnapshot], _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(target.keys), Set(source.keys), what, file: file, line: line)
        for (path, expected) in source where target[path] != expected {
            XCTFail("\(what): \(path): target \(target[path].map(String.init(describing:)) ?? "nothing"), source \(expected)", file: file, line: line)
        }
    }

    /// Into a fresh 2.7.0 (keeping individual pageviews, so what a rerun sends can be counted):
    /// equal statistics; a rerun sends nothing.
    func testRebuildEqualsSourceAndRerunSendsNothing() throws {
        let (source, expected) = try filledSource()
        let target = try RealGoatCounter(.v2_7_0, collectIndividualPageviews: true)
        let to = target.sites[0]
        let (args, env) = arguments(source, target, state: TestPaths.tempDir().appendingPathComponent("state/state.json").path)
        let r = try GoatImportCoreTests.run(TestPaths.binary, args, environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("lost: individual times"), "what is lost is said first: \(r.stderr)")
        try target.waitUntilStored(to)
        assertEqualStatistics(try snapshot(target, to), expected, "after the migrate")
        let sent = try target.pathCounts(to).pageviews
        XCTAssertEqual(sent, expected.values.reduce(0) { $0 + $1.days.values.reduce(0, +) }, "one pageview per visit counted")

        let again = try GoatImportCoreTests.run(TestPaths.binary, args, environment: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("0 hits sent in 0 requests"), again.stderr)
        try target.waitUntilStored(to)
        XCTAssertEqual(try target.pathCounts(to).pageviews, sent, "the rerun sent nothing")
        assertEqualStatistics(try snapshot(target, to), expected, "after the rerun")
    }

    /// A 2.4.1 source (which has the statistics API too, and keeps referrers as host and path
    /// under `h`): the same visits per path and day, titles and events in a 2.7.0 target, and
    /// each path's referrers add up to the same counts (2.7.0 files them as whole URLs).
    func testRebuildFrom241() throws {
        let (source, expected) = try filledSource(.v2_4_1)
        let target = try RealGoatCounter(.v2_7_0, collectIndividualPageviews: true)
        let (args, env) = arguments(source, target, state: TestPaths.tempDir().appendingPathComponent("state/state.json").path)
        let r = try GoatImportCoreTests.run(TestPaths.binary, args, environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        try target.waitUntilStored(target.sites[0])
        let got = try snapshot(target, target.sites[0])
        func counts(_ s: [String: PathSnapshot]) -> [String: String] {
            s.mapValues { "\($0.title) \($0.event) \($0.days.sorted { $0.key < $1.key }) refs \($0.referrers.map { $0.split(separator: "|").last! }.sorted())" }
        }
        XCTAssertEqual(counts(got), counts(expected))
    }

    /// A source key without "Read statistics" (2.7.0 refuses with a 403 HTML page): one line
    /// that names the permission, nothing sent.
    func testKeyWithoutStatisticsPermission() throws {
        let source = try RealGoatCounter(.v2_7_0), target = try RealGoatCounter(.v2_7_0, collectIndividualPageviews: true)
        _ = try source.sql("update api_tokens set permissions = permissions & ~64")
        let (args, env) = arguments(source, target, state: TestPaths.tempDir().appendingPathComponent("state/state.json").path)
        let r = try GoatImportCoreTests.run(TestPaths.binary, args, environment: env)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("needs a source key with the \"Read statistics\" permission"), r.stderr)
        XCTAssertFalse(r.stderr.contains("<html"), "no HTML page in the message: \(r.stderr)")
        XCTAssertEqual(try target.pathCounts(target.sites[0]).pageviews, 0)
    }

    /// kill -9 while the rebuild is being sent (10 hits a request, one request a second), then a
    /// rerun: the statistics equal the source's. A batch in flight at the kill may be sent again,
    /// but its hits carry the same sessions, so they are no new visits.
    func testKillNineThenRerun() throws {
        let (source, expected) = try filledSource()
        let visits = expected.values.reduce(0) { $0 + $1.days.values.reduce(0, +) }
        let target = try RealGoatCounter(.v2_7_0, collectIndividualPageviews: true, rateLimits: .count(1, 1))
        let to = target.sites[0]
        var (args, env) = arguments(source, target, state: TestPaths.tempDir().appendingPathComponent("state/state.json").path)
        args += ["--batch-size", "10"]
        let (process, _) = try startGoatimport(args, environment: env)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        let before = try target.waitForPageviews(to, 20).pageviews
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertGreaterThanOrEqual(before, 20, "the import had begun")
        XCTAssertLessThan(before, visits, "the kill came before the end")

        let rerun = try GoatImportCoreTests.run(TestPaths.binary, args, environment: env)
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("using the rebuild kept from an earlier run"), rerun.stderr)
        try target.waitUntilStored(to)
        assertEqualStatistics(try snapshot(target, to), expected, "after kill -9 and the rerun")
        XCTAssertLessThanOrEqual(try target.pathCounts(to).pageviews, visits + 10, "at most the batch in flight twice")
    }
}
