import Foundation
import Testing
@testable import GoatImportCore

/// `whoami`, `sites` and `verify`: the real binary against the test server.
@Suite(.serialized)
struct APICommandTests {
    let bin = TestPaths.binary

    func env(_ key: String = "test-key") -> [String: String] { testEnvironment(key: key) }

    /// A small combined log: pageviews on two days, one with tracking parameters, a bot, an
    /// image and a 404 (which the filters skip), and one from an address the site may ignore.
    func log(_ lines: [String]? = nil) throws -> String {
        let ua = "\"Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0\""
        let text = (lines ?? [
            "203.0.113.5 - - [20/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 512 \"https://example.org/\" \(ua)",
            "203.0.113.5 - - [20/Nov/2026:10:00:05 +0000] \"GET /about HTTP/1.1\" 200 512 \"-\" \(ua)",
            "203.0.113.6 - - [20/Nov/2026:11:00:00 +0100] \"GET /blog/post?utm_source=feed&b=2&a=1 HTTP/1.1\" 200 512 \"-\" \(ua)",
            "203.0.113.7 - - [20/Nov/2026:12:00:00 +0000] \"GET /logo.png HTTP/1.1\" 200 512 \"-\" \(ua)",
            "203.0.113.7 - - [20/Nov/2026:12:00:01 +0000] \"GET /missing HTTP/1.1\" 404 512 \"-\" \(ua)",
            "66.249.66.1 - - [21/Nov/2026:00:10:00 +0000] \"GET /about HTTP/1.1\" 200 512 \"-\" \"Googlebot/2.1 (+http://www.google.com/bot.html)\"",
            "203.0.113.5 - - [21/Nov/2026:09:30:00 +0000] \"GET /about HTTP/1.1\" 200 512 \"-\" \(ua)",
            "192.0.2.66 - - [21/Nov/2026:09:31:00 +0000] \"GET /admin-check HTTP/1.1\" 200 512 \"-\" \(ua)",
        ]).joined(separator: "\n") + "\n"
        let path = TestPaths.tempDir().appendingPathComponent("access.log").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("whoami: user, key name (never the key), permissions in words, can it count here")
    func whoami() throws {
        // Five runs of two API requests each: the default api limit (4/s) would refuse some.
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        func squeeze(_ s: String) -> String { s.replacingOccurrences(of: #" {2,}"#, with: " ", options: .regularExpression) }
        let r = try run(bin, ["whoami", "--site", server.url], environment: env())
        #expect(r.status == 0, "\(r.stderr)")
        let out = squeeze(r.stdout)
        #expect(out.contains("user: test@example.com (user 1, account's site 1)\n"), "\(r.stdout)")
        #expect(out.contains("key: (unnamed)\n"))
        #expect(out.contains("permissions: record pageviews, export, read sites, read statistics (78)\n"))
        #expect(out.contains("key's sites: all sites\n"))
        #expect(out.hasSuffix("can count: yes, on this site\n"))
        #expect(!r.stdout.contains("test-key") && !r.stderr.contains("test-key"), "the key is its own name here: not printed")
        #expect(try server.hits().isEmpty && (try server.list("rejected")).isEmpty)

        let no = try run(bin, ["whoami", "--site", server.url], environment: env("nocount-key"))
        #expect(no.status == 1, "the man page: 1 when the key cannot count here")
        #expect(squeeze(no.stdout).contains("can count: no: the key lacks the \"Record pageviews\" permission"))

        _ = try server.control("POST", "/_test/config", ["tokens": [["key": "k1", "permissions": 2, "sites": ["other.example.com"], "name": "importer"],
                                                                    ["key": "k2", "permissions": 2, "sites": ["stats.example.com"], "name": "importer"]],
                                                        "sites": ["stats.example.com:1", "127.0.0.1:1", "other.example.com:2"]])
        let other = try run(bin, ["whoami", "--site", server.url], environment: env("k1"))
        #expect(other.status == 1)
        #expect(squeeze(other.stdout).contains("can count: no: this token does not have access to this site"), "\(other.stdout)")
        let mine = try run(bin, ["whoami", "--site", server.url], environment: env("k2"))
        #expect(squeeze(mine.stdout).contains("key: \"importer\"\npermissions: record pageviews (2)\nkey's sites: 1\ncan count: yes"), "\(mine.stdout)")

        let bad = try run(bin, ["whoami", "--site", server.url], environment: env("wrong"))
        #expect(bad.status == 1 && bad.stderr.contains("the API key was refused (unknown token)"))
    }

    @Test("sites: list with data and first hit; create; duplicate and missing permission refused")
    func sites() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        let list = try run(bin, ["sites", "--site", server.url], environment: env())
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ID  DOMAIN") == true)
        #expect(lines.dropFirst().first?.range(of: #"^1\s+stats\.example\.com\s+-\s+no\s+-$"#, options: .regularExpression) != nil, "\(list.stdout)")

        let imported = try run(bin, ["--site", server.url, "--no-state", try log()], environment: env())
        #expect(imported.status == 0, "\(imported.stderr)")
        let after = try run(bin, ["sites", "list", "--site", server.url], environment: env())
        #expect(after.stdout.contains("yes   2026-11-20 10:00:00 UTC"), "\(after.stdout)")

        let create = try run(bin, ["sites", "create", "--cname", "Stats.Example.org", "--link-domain", "example.org", "--site", server.url],
                             environment: env("admin-key"))
        #expect(create.status == 0, "\(create.stderr)")
        #expect(create.stdout.hasPrefix("created site 2: stats.example.org (link domain example.org)\n"))
        let both = try run(bin, ["sites", "--site", server.url], environment: env())
        #expect(both.stdout.contains("2   stats.example.org  example.org  no    -"), "\(both.stdout)")

        let again = try run(bin, ["sites", "create", "--cname", "stats.example.org", "--site", server.url], environment: env("admin-key"))
        #expect(again.status == 1 && again.stderr.contains("cannot create stats.example.org: cname: already exists"), "\(again.stderr)")
        let denied = try run(bin, ["sites", "create", "--cname", "x.example.org", "--site", server.url], environment: env())
        #expect(denied.status == 1 && denied.stderr.contains("requires 'site-create' permissions"), "\(denied.stderr)")
        let invalid = try run(bin, ["sites", "create", "--cname", "https://x.example.org/", "--site", server.url], environment: env("admin-key"))
        #expect(invalid.status != 0 && invalid.stderr.contains("expected a domain name"))
    }

    @Test("verify: an import matches; a lost hit is missing, a resent one extra; exit status says which")
    func verify() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none", "--ratelimit", "export:none",
                                     "--export-delay", "0.2", "--ignore-ip", "stats.example.com=192.0.2.66"])
        let file = try log()
        let imported = try run(bin, ["--site", server.url, "--no-state", file], environment: env())
        #expect(imported.status == 0, "\(imported.stderr)")

        let ok = try run(bin, ["verify", "--site", server.url, "--since", "2026-11-01", file], environment: env())
        #expect(ok.status == 0, "\(ok.stdout)\n\(ok.stderr)")
        #expect(ok.stdout.contains("compared 2026-11-20T10:00:00Z to 2026-11-21T09:31:00Z (UTC)"), "\(ok.stdout)")
        #expect(ok.stdout.contains("4 path/day pairs on 2 days: 4 match; 4 hits expected, 4 recorded; 0 missing, 0 extra"), "\(ok.stdout)")
        #expect(ok.stdout.contains("not expected on the server: 1 hit (addresses in the site's ignore list)"), "\(ok.stdout)")
        #expect(ok.stdout.hasSuffix("OK: GoatCounter has every hit of the logs, once\n"))
        #expect(ok.stderr.contains("export 1 started (hits after id 0)"))

        // One more line in the log that was never sent, and one hit sent twice.
        let ua = "\"Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0\""
        try (try String(contentsOfFile: file, encoding: .utf8)
             + "203.0.113.9 - - [21/Nov/2026:09:40:00 +0000] \"GET /never-sent HTTP/1.1\" 200 1 \"-\" \(ua)\n").write(toFile: file, atomically: true, encoding: .utf8)
        let dup = try JSONSerialization.data(withJSONObject: ["hits": [["path": "/about", "created_at": "2026-11-20T10:00:05Z", "user_agent": "Mozilla/5.0 Firefox/130.0", "ip": "203.0.113.5"]]])
        let client = GoatCounterClient(site: URL(string: server.url)!, apiKey: "test-key")
        #expect(try client.count(body: dup).status == 202)

        let bad = try run(bin, ["verify", "--site", server.url, "--since", "2026-11-01", file], environment: env())
        #expect(bad.status == 1, "\(bad.stdout)")
        let rows = bad.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(rows.contains("2026-11-20 /about 1 2 +1 extra"), "\(bad.stdout)")
        #expect(rows.contains("2026-11-21 /never-sent 1 0 -1 missing"), "\(bad.stdout)")
        #expect(bad.stdout.contains("1 missing, 1 extra"))
        #expect(bad.stdout.hasSuffix("MISMATCH\n"))

        // --since after the first day: only the second day is compared, and it has the missing hit.
        let later = try run(bin, ["verify", "--site", server.url, "--since", "2026-11-21", "--start-from-hit-id", "0", file], environment: env())
        #expect(later.status == 1)
        #expect(later.stdout.contains("export rows not compared: 4 (before 2026-11-21T09:30:00Z)"), "\(later.stdout)")
        #expect(later.stdout.contains("0 extra"))
    }

    @Test("verify: filters as on import; one export per hour, then --export-id reuses it; needs the export permission")
    func verifyLimits() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none", "--export-delay", "0.2"])
        let file = try log()
        #expect(try run(bin, ["--site", server.url, "--no-state", "--exclude", "path:glob:/blog/*", file], environment: env()).status == 0)
        let same = try run(bin, ["verify", "--site", server.url, "--since", "2026-11-01", "--exclude", "path:glob:/blog/*", file], environment: env())
        #expect(same.status == 0, "\(same.stdout)\n\(same.stderr)")
        #expect(same.stdout.contains("MISMATCH") == false)

        let limited = try run(bin, ["verify", "--site", server.url, "--since", "2026-11-01", file], environment: env())
        #expect(limited.status == 1)
        #expect(limited.stderr.contains("refused to start an export (one an hour; try again in 60 min). GoatCounter 2.4.x counts every API request"), "\(limited.stderr)")

        // Without the --exclude the /blog/ hit is expected and missing.
        let reused = try run(bin, ["verify", "--site", server.url, "--since", "2026-11-01", "--export-id", "1", file], environment: env())
        #expect(reused.status == 1)
        #expect(reused.stderr.contains("using export 1"))
        #expect(reused.stdout.contains("/blog/post?a=1&b=2"), "\(reused.stdout)")

        // The export is verify's first request (2.4.x counts every API call against the hour's
        // export), so a key without the permission is told by the export's own refusal.
        let fresh = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        let noExport = try run(bin, ["verify", "--site", fresh.url, "--since", "2026-11-01", file], environment: env("nocount-key"))
        #expect(noExport.status == 1 && noExport.stderr.contains("may not export"))
        let noSince = try run(bin, ["verify", "--site", server.url, file], environment: env())
        #expect(noSince.status != 0 && noSince.stderr.contains("--since is required"))
    }
}
