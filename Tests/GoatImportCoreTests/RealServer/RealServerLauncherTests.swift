import XCTest
@testable import GoatImportCore

/// The launcher itself: sites with keys of their own, readback from the database and the export,
/// on both generations.
final class RealServerLauncherTests: XCTestCase {
    func testSitesKeysAndReadback() throws {
        for version in RealGoatCounter.Version.allCases {
            let server = try RealGoatCounter(version, collectIndividualPageviews: true, extraSites: 1)
            let (one, two) = (server.sites[0], server.sites[1])
            let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
            try server.count([APICountRequestHit(path: "/a", userAgent: ua, ip: "198.51.100.1"),
                              APICountRequestHit(path: "/a", userAgent: ua, ip: "198.51.100.1"),
                              APICountRequestHit(path: "/b", userAgent: ua, ip: "198.51.100.2")], to: two)
            try server.waitUntilStored(two)
            XCTAssertEqual(try server.pathCounts(two), ["/a": .init(pageviews: 2, visits: 1), "/b": .init(pageviews: 1, visits: 1)], "\(version)")
            XCTAssertEqual(try server.pathCounts(one), [:], "\(version)")
            XCTAssertEqual(try server.export(two).map(\.path).sorted(), ["/a", "/a", "/b"], "\(version)")

            // A key belongs to its own site: site 1's key is unknown on site 2 (2.7.0 answers 403
            // instead only for a site linked to the key's site).
            let wrong = RealGoatCounter.Site(id: two.id, vhost: two.vhost, url: two.url, key: one.key)
            XCTAssertThrowsError(try server.count([APICountRequestHit(path: "/c", userAgent: ua, ip: "198.51.100.3")], to: wrong)) {
                let status = ($0 as? APIError)?.status
                XCTAssertEqual(status, 401, "\(version): \($0)")
            }
        }
    }

    /// A stock 2.7.0 (individual pageviews off, the default) stores the counts but exports
    /// nothing: an empty gzip, not even the header line. 2.4.1 exports every hit.
    func testStockExports() throws {
        for version in RealGoatCounter.Version.allCases {
            let server = try RealGoatCounter(version)
            let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
            try server.count([APICountRequestHit(path: "/a", userAgent: ua, ip: "198.51.100.1")], to: server.site)
            try server.waitUntilStored(server.site)
            let api = try server.api(server.site)
            let export = try api.startExport()
            let csv = try ExportCSV.gunzip(try api.waitForExport(id: export.id ?? 0, timeout: 60))
            if version == .v2_7_0 {
                XCTAssertEqual(csv, Data(), "2.7.0 stock export")
            } else {
                XCTAssertEqual(try ExportCSV.parse(csv: csv).map(\.path).filter { !$0.hasPrefix(RealGoatCounter.sentinelPrefix) }, ["/a"], "2.4.1 export")
            }
        }
    }
}
