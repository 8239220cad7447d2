import XCTest
@testable import GoatImportCore

/// Every real fixture log imported by the built binary into a real server of each generation,
/// read back per path (pageviews and visits) from the database and the export, and compared with
/// the same pageviews posted straight to the count API on a second site of the same server, as
/// a browser's count.js would send them: path and query as requested, referrer, user agent, the
/// browser's own address, no session and no time (the server's own cleaning, bot detection and
/// sessions apply to both).
final class RealServerFixtureTests: XCTestCase {
    /// One set of requests (the reference) and the logs that recorded it.
    struct Group {
        let name: String
        let reference: [APICountRequestHit]
        let logs: [Log]
    }

    struct Log {
        let file: String
        let arguments: [String]
        let expectedPageviews: Int
        /// Pageviews the log records beyond the reference: bots a log without user agents cannot
        /// tell apart.
        var extraPageviews = 0
        /// Visits the log cannot tell apart: requests through a proxy whose address the log gives
        /// instead of the browser's, and browsers told apart only by the user agent a log lacks.
        var mergedVisits = 0
    }

    func testFixturesAgainstDirectCounts() throws {
        try RealGoatCounter.requireBinaries()
        var table: [String] = ["| fixture | server | expected pageviews / visits | goatimport pageviews / visits | direct pageviews / visits |",
                               "|---|---|---|---|---|"]
        for version in RealGoatCounter.Version.allCases {
            for group in try Self.groups() {
                let server = try RealGoatCounter(version, collectIndividualPageviews: true, extraSites: 1)
                let (imported, direct) = (server.sites[0], server.sites[1])
                let rejected = try server.count(group.reference, to: direct)
                XCTAssertEqual(rejected, [:], "\(version) \(group.name): the reference was refused in part")
                try server.waitUntilStored(direct)
                let reference = try server.pathCounts(direct)

                for log in group.logs {
                    let before = try server.lastHitID()
                    let result = try GoatImportCoreTests.run(TestPaths.binary, ["--site", imported.url, "--state", TestPaths.tempDir().appendingPathComponent("state.json").path]
                                         + log.arguments + [TestPaths.fixture(log.file)], environment: testEnvironment(key: imported.key))
                    XCTAssertEqual(result.status, 0, "\(version) \(log.file): \(result.stderr)")
                    try server.waitUntilStored(imported)
                    let counts = try server.pathCounts(imported, afterHitID: before)
                    let expected = "\(log.expectedPageviews + log.extraPageviews) / \(reference.visits - log.mergedVisits)"
                    table.append("| \(log.file) | \(version.rawValue) | \(expected) | \(counts.pageviews) / \(counts.visits) | \(reference.pageviews) / \(reference.visits) |")

                    if log.extraPageviews == 0 && log.mergedVisits == 0 {
                        XCTAssertEqual(counts, reference, "\(version) \(log.file): pageviews/visits per path")
                    } else {
                        XCTAssertEqual(counts.pageviews, reference.pageviews + log.extraPageviews, "\(version) \(log.file): pageviews")
                        XCTAssertEqual(counts.visits, reference.visits - log.mergedVisits, "\(version) \(log.file): visits")
                    }
                    if log.extraPageviews == 0 {
                        XCTAssertEqual(counts.mapValues(\.pageviews), reference.mapValues(\.pageviews), "\(version) \(log.file): pageviews per path")
                    }
                    // The export says the same as the database.
                    let rows = try server.export(imported, startFromHitID: before)
                    var exported: [String: RealGoatCounter.PathCount] = [:]
                    for row in rows where row.bot == 0 {
                        exported[row.path, default: .init()].pageviews += 1
                        if row.firstVisit { exported[row.path, default: .init()].visits += 1 }
                    }
                    XCTAssertEqual(exported, counts, "\(version) \(log.file): export and database")
                }
            }
        }
        print(table.joined(separator: "\n"))
    }

    // MARK: the fixtures

    static func groups() throws -> [Group] {
        [try captured()] + (try samples())
    }

    /// The logs nginx, Apache and Caddy wrote for requests.tsv (line n is request n).
    static func captured() throws -> Group {
        let agents = try tsv(TestPaths.fixture("user-agents.tsv"))
        var userAgent: [String: String] = [:]
        for row in agents { userAgent[row["ua_label"]!] = row["user_agent"] }
        let rows = try tsv(TestPaths.fixture("requests.tsv")).filter { $0["expect"] == "pageview" }
        let reference = rows.map { row in
            let target = row["target"]!
            let query = target.firstIndex(of: "?").map { String(target[$0...]) }
            // The browser's own address: the first of X-Forwarded-For, else the socket peer.
            let xff = row["xff"]!
            let ip = xff == "-" ? row["client"]! : String(xff.split(separator: ",")[0]).trimmingCharacters(in: .whitespaces)
            // The API refuses paths over 2,048 characters; goatimport clips them, and so does this.
            return APICountRequestHit(path: String(target.prefix(2048)), ref: value(row["referer"]), query: query,
                                      userAgent: userAgent[row["ua_label"]!], ip: ip)
        }
        func file(_ name: String) throws -> String {
            try String(contentsOfFile: TestPaths.fixture(name), encoding: .utf8).trimmingCharacters(in: .newlines)
        }
        // Requests 36-38 come through a proxy (127.0.0.1) with X-Forwarded-For: a log without that
        // header gives the proxy's address, and those three visits join the proxy's own.
        // Caddy logs the header among the request's headers: the connecting address is loopback,
        // a trusted proxy, so the forwarded client is the visitor (as nginx's $http_x_forwarded_for).
        let proxied = 3
        // apache/common has no user agent: the six bot requests (29-33, 54) count, and visits
        // are told apart by address alone (the server's own sessions are user agent + address).
        let noUserAgent = (extra: 6, merged: 13)
        let n = rows.count
        let logs = [
            Log(file: "nginx/combined.log", arguments: ["--format", "combined"], expectedPageviews: n, mergedVisits: proxied),
            Log(file: "nginx/vhost.log", arguments: ["--format", "combined-vhost"], expectedPageviews: n, mergedVisits: proxied),
            Log(file: "nginx/custom.log", arguments: ["--format", "nginx:" + (try file("nginx/custom.format"))], expectedPageviews: n),
            Log(file: "nginx/iso8601.log", arguments: ["--format", "nginx:" + (try file("nginx/iso8601.format"))], expectedPageviews: n, mergedVisits: proxied),
            Log(file: "nginx/json.log", arguments: ["--format", "nginx-json"], expectedPageviews: n),
            Log(file: "apache/combined.log", arguments: ["--format", "combined"], expectedPageviews: n, mergedVisits: proxied),
            Log(file: "apache/common.log", arguments: ["--format", "common"], expectedPageviews: n,
                extraPageviews: noUserAgent.extra, mergedVisits: noUserAgent.merged),
            Log(file: "apache/vhost_combined.log", arguments: ["--format", "combined-vhost"], expectedPageviews: n, mergedVisits: proxied),
            Log(file: "apache/custom.log", arguments: ["--format", "apache:" + (try file("apache/custom.format"))], expectedPageviews: n),
            Log(file: "caddy/access.json.log", arguments: ["--format", "caddy"], expectedPageviews: n),
            Log(file: "caddy/access.console.log", arguments: ["--format", "caddy-console"], expectedPageviews: n),
        ]
        return Group(name: "captured", reference: reference, logs: logs)
    }

    /// The documented samples: each its own reference, from its expected.tsv.
    static func samples() throws -> [Group] {
        let samples: [(dir: String, file: String, tz: String)] = [
            ("traefik", "access.log", "UTC"), ("elb", "access.log", "UTC"), ("alb", "access.log", "UTC"),
            ("cloudfront", "E2EXAMPLE.2026-11-27-14.abcd1234", "UTC"), ("s3", "access.log", "UTC"),
            ("w3c", "u_ex261127.log", "UTC"), ("haproxy", "haproxy.log", "Europe/Amsterdam"), ("bunny", "60367.log", "UTC"),
        ]
        return try samples.map { s in
            let hits = try tsv(TestPaths.fixture("\(s.dir)/expected.tsv")).filter { $0["outcome"] == "hit" }
            let reference = hits.map { row in
                // HAProxy logs no user agent. A browser would send one; without it the API wants a
                // session, and the address is the grouping the log allows (goatimport's too).
                let ua = value(row["user_agent"])
                return APICountRequestHit(path: row["path"]!, ref: value(row["ref"]), query: value(row["query"]),
                                          userAgent: ua, ip: value(row["ip"]), session: ua == nil ? value(row["ip"]) : nil)
            }
            let log = Log(file: "\(s.dir)/\(s.file)", arguments: ["--format", s.dir, "--tz", s.tz], expectedPageviews: hits.count)
            return Group(name: s.dir, reference: reference, logs: [log])
        }
    }

    static func value(_ text: String?) -> String? { text == nil || text == "-" ? nil : text }

    /// A tab-separated file with a header line, as rows keyed by column.
    static func tsv(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
        guard let header = lines.first else { return [] }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}
