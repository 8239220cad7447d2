import XCTest
@testable import GoatImportCore

/// The binary's ways of running against real servers of both generations: `--follow` across a
/// rotation, a kill -9 and a rerun, and `--site-map` with two sites.
final class RealServerRunTests: XCTestCase {
    static let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

    /// Combined lines for /n<i>, one visitor each; `host` puts the vhost first (combined-vhost).
    static func lines(_ range: Range<Int>, host: String? = nil) -> String {
        range.map { i in
            let time = String(format: "01/Nov/2026:%02d:%02d:%02d +0000", 10 + i / 3600, i / 60 % 60, i % 60)
            let prefix = host.map { "\($0):80 " } ?? ""
            return "\(prefix)198.51.\(i / 250 % 250).\(i % 250 + 1) - - [\(time)] \"GET /n\(i) HTTP/1.1\" 200 5 \"-\" \"\(ua)\"\n"
        }.joined()
    }

    static func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    static func paths(_ range: Range<Int>) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: range.map { ("/n\($0)", 1) })
    }

    func testFollowAcrossRotation() throws {
        for version in RealGoatCounter.Version.allCases {
            let server = try RealGoatCounter(version, collectIndividualPageviews: true)
            let dir = TestPaths.tempDir()
            let log = dir.appendingPathComponent("access.log").path
            try Self.append(Self.lines(0..<300), to: log)
            let (process, _) = try startGoatimport(["--site", server.site.url, "--state", dir.appendingPathComponent("state.json").path,
                                                    "--format", "combined", "--batch-size", "50", "--follow", log],
                                                   environment: testEnvironment(key: server.site.key))
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
            XCTAssertEqual(try server.waitForPageviews(server.site, 300).pageviews, 300, "\(version): backlog")
            // logrotate with `create`: rename, the web server writes the old file a moment, then the new one.
            try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
            try Self.append(Self.lines(300..<320), to: log + ".1")
            try Self.append(Self.lines(320..<400), to: log)
            let counts = try server.waitForPageviews(server.site, 400)
            process.terminate()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(version)")
            try server.waitUntilStored(server.site)
            XCTAssertEqual(try server.pathCounts(server.site).mapValues(\.pageviews), Self.paths(0..<400),
                           "\(version): every line once across the rotation (\(counts.pageviews) seen)")
        }
    }

    func testKillNineAndRerun() throws {
        let total = 2000, batch = 50
        for version in RealGoatCounter.Version.allCases {
            // 5 requests a second: the import takes seconds, so the kill lands in the middle.
            let server = try RealGoatCounter(version, collectIndividualPageviews: true, rateLimits: .count(5, 1))
            let dir = TestPaths.tempDir()
            let log = dir.appendingPathComponent("access.log").path
            try Self.append(Self.lines(0..<total), to: log)
            let arguments = ["--site", server.site.url, "--state", dir.appendingPathComponent("state.json").path,
                             "--format", "combined", "--batch-size", String(batch), log]
            let (process, _) = try startGoatimport(arguments, environment: testEnvironment(key: server.site.key))
            let before = try server.waitForPageviews(server.site, 3 * batch).pageviews
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertLessThan(before, total, "\(version): the kill came after the end")

            let rerun = try GoatImportCoreTests.run(TestPaths.binary, arguments, environment: testEnvironment(key: server.site.key))
            XCTAssertEqual(rerun.status, 0, "\(version): \(rerun.stderr)")
            try server.waitUntilStored(server.site)
            let counts = try server.pathCounts(server.site).mapValues(\.pageviews)
            XCTAssertEqual(Set(counts.keys), Set(Self.paths(0..<total).keys), "\(version): nothing lost")
            let twice = counts.values.reduce(0, +) - total
            XCTAssertLessThanOrEqual(twice, batch, "\(version): at most the batch in flight twice (\(twice))")
            XCTAssertTrue(counts.values.allSatisfy { $0 <= 2 }, "\(version)")
        }
    }

    /// Two sites of one server from one log. Keys belong to one site on real servers and
    /// goatimport has one key for all sites: the other site refuses it at the pre-flight check,
    /// and the run stops before sending anything (to either site), says which site refused the
    /// key, and exits 1; a rerun with a good key then starts from nothing sent. (A key per site
    /// in the map is the admin-cli branch's: then both sites must get theirs.)
    func testSiteMapTwoSites() throws {
        for version in RealGoatCounter.Version.allCases {
            let server = try RealGoatCounter(version, collectIndividualPageviews: true, extraSites: 1)
            let (one, two) = (server.sites[0], server.sites[1])
            let dir = TestPaths.tempDir()
            let log = dir.appendingPathComponent("access.log").path
            try Self.append(Self.lines(0..<120, host: "www.one.test") + Self.lines(120..<200, host: "www.two.test"), to: log)
            let result = try GoatImportCoreTests.run(TestPaths.binary, ["--format", "combined-vhost", "--state", dir.appendingPathComponent("state.json").path,
                                                    "--site-map", "www.one.test=\(one.url)", "--site-map", "www.two.test=\(two.url)", log],
                                 environment: testEnvironment(key: one.key))
            XCTAssertEqual(result.status, 1, "\(version): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(two.url) && result.stderr.contains("unknown token"), "\(version): \(result.stderr)")
            try server.waitUntilStored(one)
            XCTAssertEqual(try server.pathCounts(one), [:], "\(version)")
            XCTAssertEqual(try server.pathCounts(two), [:], "\(version)")
            XCTAssertFalse(result.stderr.contains(one.key), "the key never appears in output")
        }
    }
}
