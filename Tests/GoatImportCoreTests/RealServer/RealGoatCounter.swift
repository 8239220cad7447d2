import Foundation
import XCTest
@testable import GoatImportCore

/// A real GoatCounter server (`../shared/goatcounter/goatcounter-VERSION` beside the repository)
/// on a free loopback port with a fresh SQLite database in a temp dir, ended by its PID when the
/// last reference goes. Site 1 answers at `http://127.0.0.1:PORT`; extra sites answer at
/// `http://127.1:PORT`, `http://127.0.1:PORT` (other spellings of 127.0.0.1: the server picks the
/// site by the Host header without the port; goatimport's client sends the host as written, curl
/// does not). Each site has its own user and key (count, export, site_read, stats): on both generations
/// a key works on its own site only. Sites are not linked (`-link`): a key moved to a linked
/// site works on 2.4.1 but is unknown to 2.7.0.
final class RealGoatCounter {
    enum Version: String, CaseIterable { case v2_4_1 = "2.4.1", v2_7_0 = "2.7.0" }

    struct Site {
        let id: Int
        let vhost: String
        let url: String
        let key: String
    }

    /// `.raised` lifts the count, API and export limits so tests are never paced; `.defaults`
    /// leaves the server's own (count 60/120 s, API 4/s, export 1/hour); `.count(n, seconds)`
    /// sets the count limit alone, the others raised.
    enum RateLimits: Equatable { case defaults, raised, count(Int, Int) }

    static let directory = TestPaths.root.deletingLastPathComponent().appendingPathComponent("shared/goatcounter")
    static func binary(_ version: Version) -> String { directory.appendingPathComponent("goatcounter-\(version.rawValue)").path }

    /// Skips the calling test when the binaries are absent (CI has them: `.ci/run` fails without).
    static func requireBinaries(file: StaticString = #filePath, line: UInt = #line) throws {
        let missing = Version.allCases.map(binary).filter { !FileManager.default.isExecutableFile(atPath: $0) }
        if !missing.isEmpty {
            throw XCTSkip("real GoatCounter servers absent (\(missing.joined(separator: ", "))): see ../shared/goatcounter", file: file, line: line)
        }
    }

    static let extraVhosts = ["127.1", "127.0.1"]

    let version: Version
    let dir: URL
    let database: String
    let port: Int
    private(set) var sites: [Site] = []
    private var process = Process()
    private let log: ServerLog

    /// - collectIndividualPageviews: sets "Individual pageviews" (collect bit 256) on every site,
    ///   which 2.7.0 needs to keep `hits` rows and to export anything (2.4.1 always keeps them).
    /// - extraSites: up to two more sites, each with a user and a key of its own.
    /// - storeEvery: seconds between the server's writes of queued hits (its default is 10).
    init(_ version: Version, collectIndividualPageviews: Bool = false, extraSites: Int = 0,
         rateLimits: RateLimits = .raised, storeEvery: Int = 1) throws {
        precondition(extraSites <= Self.extraVhosts.count)
        try Self.requireBinaries()
        self.version = version
        dir = TestPaths.tempDir()
        database = dir.appendingPathComponent("gc.sqlite3").path
        let binary = Self.binary(version)
        let db = "sqlite+\(database)"
        let template = try Self.template(version, collectIndividualPageviews: collectIndividualPageviews, extraSites: extraSites)
        try FileManager.default.copyItem(atPath: template.database, toPath: database)
        let keys = template.keys

        var arguments = ["serve", "-listen", "", "-tls", "http", "-db", db, "-store-every", String(storeEvery)]
        switch rateLimits {
        case .defaults: break
        case .raised: arguments += ["-ratelimit", "api-count:100000/1,api:100000/1,export:1000/1"]
        case .count(let n, let seconds): arguments += ["-ratelimit", "api-count:\(n)/\(seconds),api:100000/1,export:1000/1"]
        }
        // A free port can be taken between probing and binding: try a few.
        var started: (Int, ServerLog)?
        for _ in 0..<3 {
            let port = try Self.freePort()
            arguments[2] = "127.0.0.1:\(port)"
            let log = ServerLog()
            process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.standardOutput = log.pipe
            process.standardError = log.pipe
            try process.run()
            if log.waitForReady(timeout: 15) { started = (port, log); break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if !log.text.contains("address already in use") { throw Failure.didNotStart(version, log.text) }
        }
        guard let (port, log) = started else { throw Failure.didNotStart(version, "no free port") }
        self.port = port
        self.log = log
        sites = keys.enumerated().map { i, key in
            let vhost = i == 0 ? "127.0.0.1" : Self.extraVhosts[i - 1]
            return Site(id: i + 1, vhost: vhost, url: "http://\(vhost):\(port)", key: key)
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    var site: Site { sites[0] }
    /// What the server wrote to stdout and stderr so far.
    var output: String { log.text }

    enum Failure: Error, CustomStringConvertible {
        case didNotStart(Version, String)
        case command(String, String)
        var description: String {
            switch self {
            case .didNotStart(let v, let log): return "goatcounter \(v.rawValue) did not start: \(log)"
            case .command(let c, let err): return "\(c): \(err)"
            }
        }
    }

    /// Databases made once per configuration and copied for each server: making one takes
    /// seconds of `goatcounter db` commands, copying it a moment.
    private static let templates = NSLock()
    nonisolated(unsafe) private static var templateCache: [String: (database: String, keys: [String])] = [:]

    private static func template(_ version: Version, collectIndividualPageviews: Bool, extraSites: Int) throws
        -> (database: String, keys: [String]) {
        templates.lock(); defer { templates.unlock() }
        let name = "\(version.rawValue)-\(collectIndividualPageviews)-\(extraSites)"
        if let made = templateCache[name] { return made }
        let binary = Self.binary(version)
        let database = TestPaths.tempDir().appendingPathComponent("gc.sqlite3").path
        let db = "sqlite+\(database)"
        try goatcounter(binary, ["db", "create", "site", "-createdb", "-db", db, "-vhost", "127.0.0.1",
                                 "-user.email", "test@example.com", "-user.password", "testtest123"])
        for (i, vhost) in Self.extraVhosts.prefix(extraSites).enumerated() {
            try goatcounter(binary, ["db", "create", "site", "-db", db, "-vhost", vhost,
                                     "-user.email", "test\(i + 2)@example.com", "-user.password", "testtest123"])
        }
        var keys: [String] = []
        for site in 1...(1 + extraSites) {
            // Site n was created with user n.
            try goatcounter(binary, ["db", "create", "apitoken", "-db", db, "-user", "\(site)", "-name", "site\(site)",
                                     "-perm", "count,export,site_read"])
            let key = try sql(database, "select token from api_tokens where site_id = \(site)")
            keys.append(key.first?.first ?? "")
        }
        // "read statistics" (bit 64, which `-perm` cannot name on either generation): without it
        // 2.7.0 answers /api/v0/stats/* with a 403 HTML page "requires 'stats' permissions".
        _ = try sql(database, "update api_tokens set permissions = permissions | 64")
        if collectIndividualPageviews {
            _ = try sql(database, "update sites set settings = json_set(settings, '$.collect', json_extract(settings, '$.collect') | 256)")
        }

        templateCache[name] = (database, keys)
        return (database, keys)
    }

    @discardableResult
    static func goatcounter(_ binary: String, _ arguments: [String]) throws -> String {
        let result = try run(binary, arguments)
        guard result.status == 0 else { throw Failure.command("goatcounter \(arguments.prefix(3).joined(separator: " "))", result.stderr) }
        return result.stdout
    }

    /// Runs SQL on the server's database with python3's sqlite3 module; the last statement's rows.
    static func sql(_ database: String, _ script: String) throws -> [[String]] {
        let program = """
            import json, sqlite3, sys
            c = sqlite3.connect(sys.argv[1], timeout=30)
            *head, last = [s for s in sys.stdin.read().split(';') if s.strip()]
            for s in head: c.execute(s)
            rows = c.execute(last).fetchall()
            c.commit()
            print(json.dumps([[None if v is None else str(v) for v in r] for r in rows]))
            """
        let result = try run("/usr/bin/env", ["python3", "-c", program, database], stdin: Data(script.utf8))
        guard result.status == 0 else { throw Failure.command("sqlite3", result.stderr) }
        let rows = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[Any]] ?? []
        return rows.map { $0.map { $0 as? String ?? "" } }
    }

    func sql(_ script: String) throws -> [[String]] { try Self.sql(database, script) }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure.command("bind", String(cString: strerror(errno))) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The server's output, read on a thread of its own (a full pipe would stall the server), with
/// a signal when it says it is ready: "ready; serving" (2.4.1) or "GoatCounter ready" (2.7.0).
private final class ServerLog: @unchecked Sendable {
    let pipe = Pipe()
    private let lock = NSCondition()
    private var buffer = ""
    private var ready = false
    private var closed = false

    init() {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                lock.lock()
                if data.isEmpty { closed = true } else { buffer += String(decoding: data, as: UTF8.self) }
                if buffer.contains("ready; serving") || buffer.contains("GoatCounter ready") { ready = true }
                lock.broadcast()
                lock.unlock()
                if data.isEmpty { return }
            }
        }
    }

    var text: String { lock.lock(); defer { lock.unlock() }; return buffer }

    func waitForReady(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock(); defer { lock.unlock() }
        while !ready && !closed { if !lock.wait(until: deadline) { break } }
        return ready
    }
}
