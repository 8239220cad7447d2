import Foundation
@testable import GoatImportCore

/// Reading back what a real server recorded: through its API (count, export) and its database.
extension RealGoatCounter {
    struct PathCount: Equatable, CustomStringConvertible {
        var pageviews = 0
        var visits = 0
        var description: String { "\(pageviews)/\(visits)" }
    }

    /// The typed API client of goatimport, on one site with its key.
    func api(_ site: Site) throws -> GoatCounterAPI {
        GoatCounterAPI(client: GoatCounterClient(site: try GoatCounterClient.parseSite(site.url), apiKey: site.key))
    }

    /// Posts hits straight to the count API, in batches of 500.
    @discardableResult
    func count(_ hits: [APICountRequestHit], to site: Site, noSessions: Bool = false) throws -> [Int: String] {
        let api = try api(site)
        var rejected: [Int: String] = [:]
        for start in stride(from: 0, to: hits.count, by: 500) {
            let batch = Array(hits[start..<min(start + 500, hits.count)])
            let result = try api.count(APICountRequest(hits: batch, noSessions: noSessions, filter: []))
            for (i, message) in result.rejected { rejected[start + i] = message }
        }
        return rejected
    }

    static let sentinelPrefix = "/_stored-"

    /// Waits until the server has written every hit it accepted on `site` so far: a marker hit is
    /// sent last and waited for in `hit_counts` (the server writes its whole queue in order, hits
    /// before their counts). Readbacks leave the marker out.
    func waitUntilStored(_ site: Site, timeout: Double = 30) throws {
        let marker = Self.sentinelPrefix + UUID().uuidString
        try count([APICountRequestHit(path: marker, userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
                                      ip: "192.0.2.200")], to: site)
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            let rows = try sql("select count(*) from hit_counts join paths using (path_id) where paths.path = '\(marker)'")
            if rows.first?.first.flatMap(Int.init) ?? 0 > 0 { return }
            _ = DispatchSemaphore(value: 0).wait(timeout: .now() + 0.1)   // poll interval, bounded by the deadline
        }
        throw Failure.command("waitUntilStored", "the server did not store \(marker) within \(timeout) s:\n\(output.suffix(2000))")
    }

    /// Pageviews and visits (first visits) per path as stored in `hits` (2.7.0 keeps those rows
    /// only with individual pageviews on); bots and the markers of `waitUntilStored` left out.
    func pathCounts(_ site: Site, afterHitID: Int = 0) throws -> [String: PathCount] {
        let bots = version == .v2_4_1 ? "and hits.bot = 0" : ""
        let rows = try sql("""
            select paths.path, count(*), sum(hits.first_visit) from hits join paths using (path_id)
             where hits.site_id = \(site.id) and hits.hit_id > \(afterHitID) \(bots)
               and paths.path not like '\(Self.sentinelPrefix)%'
             group by paths.path
            """)
        var counts: [String: PathCount] = [:]
        for row in rows where row.count == 3 {
            counts[row[0]] = PathCount(pageviews: Int(row[1]) ?? 0, visits: Int(row[2]) ?? 0)
        }
        return counts
    }

    /// Waits (polling the database, bounded) until `site` has stored at least `pageviews`.
    @discardableResult
    func waitForPageviews(_ site: Site, _ pageviews: Int, timeout: Double = 60) throws -> [String: PathCount] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var counts = try pathCounts(site)
        while counts.pageviews < pageviews && Date() < deadline {
            _ = DispatchSemaphore(value: 0).wait(timeout: .now() + 0.2)   // poll interval, bounded by the deadline
            counts = try pathCounts(site)
        }
        return counts
    }

    /// The newest hit's id (0 when none): what came after it is what a run added.
    func lastHitID() throws -> Int { Int(try sql("select coalesce(max(hit_id), 0) from hits").first?.first ?? "") ?? 0 }

    /// Rows of an export of `site` (hits after `startFromHitID`), read with goatimport's own parser.
    func export(_ site: Site, startFromHitID: Int = 0) throws -> [ExportRow] {
        let api = try api(site)
        let export = try api.startExport(startFromHitID: startFromHitID)
        let data = try api.waitForExport(id: export.id ?? 0, timeout: 60)
        return try ExportCSV.parse(gzipped: data).filter { !$0.path.hasPrefix(Self.sentinelPrefix) }
    }
}

extension Dictionary where Key == String, Value == RealGoatCounter.PathCount {
    var pageviews: Int { values.reduce(0) { $0 + $1.pageviews } }
    var visits: Int { values.reduce(0) { $0 + $1.visits } }
}
