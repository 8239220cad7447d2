import Foundation
import XCTest
@testable import GoatImportCore

/// `migrate` between real GoatCounter servers: the real 2.4.1 export (Tests/Fixtures) is
/// imported into the source, then moved to the target, and `verify` (run by migrate) is clean.
final class RealServerMigrateTests: XCTestCase {
    func migrate(from sourceVersion: RealGoatCounter.Version, to targetVersion: RealGoatCounter.Version) throws {
        let source = try RealGoatCounter(sourceVersion, collectIndividualPageviews: true)
        let target = try RealGoatCounter(targetVersion, collectIndividualPageviews: true)
        let from = source.sites[0], to = target.sites[0]
        let state = TestPaths.tempDir().appendingPathComponent("state/state.json").path
        let fill = try GoatImportCoreTests.run(TestPaths.binary, ["--site", from.url, "--no-state", ExportCSVTests.gzPath], environment: testEnvironment(key: from.key))
        XCTAssertEqual(fill.status, 0, fill.stderr)
        try source.waitUntilStored(from)
        var env = testEnvironment(key: to.key)
        env["GOATCOUNTER_SOURCE_API_KEY"] = from.key
        let r = try GoatImportCoreTests.run(TestPaths.binary, ["migrate", "--from", from.url, "--to", to.url, "--state", state, "--settle", "3"], environment: env)
        XCTAssertEqual(r.status, 0, "\(r.stdout)\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("OK: GoatCounter has every hit of the logs, once"), "\(r.stdout)\n\(r.stderr)")
        // (waitUntilStored's marker hit is in the source, so it moves too.)
        func real(_ rows: [ExportRow]) -> [ExportRow] { rows.filter { !$0.path.hasPrefix(RealGoatCounter.sentinelPrefix) } }
        let rows = real(try target.export(to))
        XCTAssertEqual(rows.count, 120, "every row, events included")
        XCTAssertEqual(Set(rows.map(\.session)).count, Set(real(try source.export(from)).map(\.session)).count, "as many visits as the source")
    }

    func testMigrate241To270() throws { try migrate(from: .v2_4_1, to: .v2_7_0) }
    func testMigrate270To270() throws { try migrate(from: .v2_7_0, to: .v2_7_0) }
}
