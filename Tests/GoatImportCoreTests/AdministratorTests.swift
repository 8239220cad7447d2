import Foundation
import Testing
@testable import GoatImportCore

/// What an administrator coming from `goatcounter import` types, and the errors that must say
/// what to do: the real binary, against the test server where a server is needed.
@Suite(.serialized)
struct AdministratorTests {
    let bin = TestPaths.binary
    let log = TestPaths.root.appendingPathComponent("examples/access.log").path

    @Test("goatcounter import's single-dash flags get 'did you mean --site', before any other check")
    func singleDashFlags() throws {
        for flag in ["-site", "-format", "-exclude", "-follow"] {
            // Without a file or --dry-run: the parser used to answer "nothing to do" or "no input".
            let r = try run(bin, [flag, "x", log])
            #expect(r.status == 64)
            #expect(r.stderr.contains("unknown option '\(flag)': did you mean '-\(flag)'?"), "\(r.stderr)")
            #expect(r.stderr.contains("See 'goatimport help import'"))
        }
        let equals = try run(bin, ["-site=https://stats.example.com", log])
        #expect(equals.status == 64 && equals.stderr.contains("did you mean '--site'?"), "\(equals.stderr)")
        let x = try run(bin, ["-x"])
        #expect(x.status == 64 && x.stderr.contains("unknown option '-x'") && !x.stderr.contains("no input"), "\(x.stderr)")
        let debug = try run(bin, ["-debug", "all", log])
        #expect(debug.status == 64 && debug.stderr.contains("goatimport has no --debug: -v"), "\(debug.stderr)")
        let check = try run(bin, ["check", "-format", "combined", log])
        #expect(check.status == 64 && check.stderr.contains("did you mean '--format'?") && check.stderr.contains("help check"))
        // -v stays a flag, and a file after -- may start with a dash.
        let verbose = try run(bin, ["--dry-run", "-v", log])
        #expect(verbose.status == 0, "\(verbose.stderr)")
        let dashed = try run(bin, ["--dry-run", "--", "-site"])
        #expect(dashed.status == 1 && dashed.stderr.contains("-site: No such file"), "\(dashed.stderr)")
    }

    @Test("help of an unknown command fails; a usage error points at the command's own help")
    func help() throws {
        let bogus = try run(bin, ["help", "bogus"])
        #expect(bogus.status == 64 && bogus.stderr.contains("help bogus: no such command"), "\(bogus.stderr)")
        let known = try run(bin, ["help", "sites", "create"])
        #expect(known.status == 0 && known.stdout.contains("--cname"))
        // Thrown from run(), not validate(): the parser pointed at the root help.
        let env = testEnvironment()
        let noScheme = try run(bin, ["whoami", "--site", "ftp://stats.example.com"], environment: env)
        #expect(noScheme.status == 64 && noScheme.stderr.contains("See 'goatimport help whoami'"), "\(noScheme.stderr)")
        let batch = try run(bin, ["--dry-run", "--batch-size", "0", log])
        #expect(batch.stderr.contains("See 'goatimport help import'") && !batch.stderr.contains("'goatimport --help'"))
    }

    @Test("--site without a scheme is https, as goatcounter import takes it, and says so")
    func siteWithoutScheme() throws {
        #expect(try GoatCounterClient.parseSite("stats.example.com").absoluteString == "https://stats.example.com")
        #expect(try GoatCounterClient.parseSite("stats.example.com:8080").absoluteString == "https://stats.example.com:8080")
        #expect(try GoatCounterClient.parseSite("http://stats.example.com").absoluteString == "http://stats.example.com")
        // Port 1 refuses at once: the run reaches the network with the https URL.
        let r = try run(bin, ["whoami", "--site", "127.0.0.1:1"], environment: testEnvironment())
        #expect(r.stderr.contains("--site 127.0.0.1:1: no scheme given; using https://127.0.0.1:1"), "\(r.stderr)")
        #expect(r.stderr.contains("cannot reach https://127.0.0.1:1"))
    }

    @Test("--exclude static names a default filter; a path glob that cannot match gets a hint")
    func excludeHabits() throws {
        let r = try run(bin, ["--dry-run", "--exclude", "static", "--exclude", "path:.html", log])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("--exclude static: static is already a default filter"))
        #expect(r.stderr.contains("--exclude path:.html: a path glob matches the whole path") && r.stderr.contains("path:glob:*.html"))
        #expect(Rule.hint("path:/admin/*") == nil && Rule.hint("path:re:html") == nil && Rule.hint("path:glob:*.html") == nil)
        #expect(Rule.hint("path:glob:.html") != nil)
    }

    @Test("whoami exits 1 when the key cannot count; errors say what to do")
    func apiErrors() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        let nocount = try run(bin, ["whoami", "--site", server.url], environment: testEnvironment(key: "nocount-key"))
        #expect(nocount.status == 1 && nocount.stdout.contains("lacks the \"Record pageviews\" permission"))

        _ = try server.control("POST", "/_test/config", ["single_site_fallback": false,
                                                        "tokens": [["key": "k1", "permissions": 2 | 8, "sites": ["other.example.com"]]],
                                                        "sites": ["stats.example.com:1", "other.example.com:2"]])
        let unknownHost = try run(bin, ["sites", "--site", server.url], environment: testEnvironment(key: "k1"))
        #expect(unknownHost.status == 1)
        #expect(unknownHost.stderr.contains("no site at this domain") && unknownHost.stderr.contains("`goatimport sites --site URL`"),
                "\(unknownHost.stderr)")

        _ = try server.control("POST", "/_test/config", ["sites": ["127.0.0.1:1", "other.example.com:2"]])
        let otherSite = try run(bin, ["sites", "--site", server.url], environment: testEnvironment(key: "k1"))
        #expect(otherSite.status == 1 && otherSite.stderr.contains("the API key belongs to another site"), "\(otherSite.stderr)")
        #expect(!otherSite.stderr.contains("needs another permission"))
        let imported = try run(bin, ["--site", server.url, "--no-state", log], environment: testEnvironment(key: "k1"))
        #expect(imported.status == 1 && imported.stderr.contains("the API key belongs to another site"), "\(imported.stderr)")
    }

    @Test("https against a plain-HTTP port says so instead of a TLS dump; a dead server fails at once in every command")
    func connectionErrors() throws {
        let server = try TestServer()
        let port = server.url.split(separator: ":").last!
        let tls = try run(bin, ["whoami", "--site", "https://127.0.0.1:\(port)"], environment: testEnvironment())
        #expect(tls.status == 1 && tls.stderr.contains("the server does not speak TLS on this port; did you mean http://?"), "\(tls.stderr)")
        #expect(!tls.stderr.contains(".build") && !tls.stderr.contains("BoringSSL"))

        for command in [["whoami"], ["sites"]] {
            let started = Date()
            let dead = try run(bin, command + ["--site", "http://127.0.0.1:1"], environment: testEnvironment())
            #expect(dead.status == 1 && dead.stderr.contains("cannot reach http://127.0.0.1:1: connection refused"), "\(dead.stderr)")
            #expect(Date().timeIntervalSince(started) < 10, "\(command): gave up after the retries")
        }
    }

    @Test("a key file per site of the map: each site gets its hits; a site that refuses its key stops alone")
    func keyPerSite() throws {
        let server = try SiteMapRunTests.server()
        _ = try server.control("POST", "/_test/config", ["tokens": [["key": "key-a-secret", "permissions": 2, "sites": ["127.0.0.1"]],
                                                                    ["key": "key-b-secret", "permissions": 2, "sites": ["localhost"]]]])
        let dir = TestPaths.tempDir()
        let log = dir.appendingPathComponent("access.log").path
        try SiteMapTests.vhostLines(0..<30, hosts: ["a.example", "b.example"]).write(toFile: log, atomically: true, encoding: .utf8)
        func keyFile(_ name: String, _ key: String) throws {
            let path = dir.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600])
        }
        try keyFile("a.key", "key-a-secret")
        try keyFile("b.key", "key-b-secret")
        let map = dir.appendingPathComponent("sites").path
        func writeMap(b: String) throws {
            try "a.example http://127.0.0.1:\(server.port) a.key\nb.example http://localhost:\(server.port) \(b)\n"
                .write(toFile: map, atomically: true, encoding: .utf8)
        }
        func paths() throws -> [Int: Int] {
            var result: [Int: Int] = [:]
            for hit in try server.hits() { result[hit["site_id"] as! Int, default: 0] += 1 }
            return result
        }
        var env = testEnvironment(key: "key-a-secret")  // one key for every site: the second site refuses it
        let arguments = ["--format", "combined-vhost", "--no-state", "--site-map-file", map, log]

        try writeMap(b: "b.key")
        let both = try run(bin, arguments, environment: env)
        #expect(both.status == 0, "\(both.stderr)")
        #expect(try paths() == [1: 15, 2: 15])
        #expect(!both.stderr.contains("secret"))

        _ = try server.control("POST", "/_test/reset")
        try keyFile("wrong.key", "key-a-secret")
        try writeMap(b: "wrong.key")
        let alone = try run(bin, arguments, environment: env)
        #expect(alone.status == 1)
        #expect(alone.stderr.contains("http://localhost:\(server.port): the API key belongs to another site"), "\(alone.stderr)")
        #expect(try paths() == [1: 15], "the site with its own key finished")

        env["GOATCOUNTER_API_KEY"] = "nobody"
        try writeMap(b: "missing.key")
        let missing = try run(bin, arguments, environment: env)
        #expect(missing.status == 64 && missing.stderr.contains("missing.key"), "\(missing.stderr)")
    }
}
