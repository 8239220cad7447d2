import Foundation
import Testing
@testable import GoatImportCore

/// The models, the path cleaning, the export CSV and the comparison, without a server.
struct APIModelTests {
    @Test("replies decode with unknown fields and unexpected types tolerated")
    func lenientDecoding() throws {
        let json = """
        {"user":{"id":1,"site":1,"email":"a@example.com","email_verified":true,"access":{"all":"a"},
          "login_at":"2026-11-27T15:00:23.123456789Z","reset_at":null,"brand_new":[1,2],
          "settings":{"number_format":8239,"timezone":"Etc/UTC","views":[{"name":"default","period":"week"}],"widgets":[{"n":"pages"}]}},
         "token":{"name":"import","permissions":78,"sites":[-1],"created_at":"x"}}
        """
        let me = try JSONDecoder().decode(MeResponse.self, from: Data(json.utf8))
        #expect(me.user?.email == "a@example.com")
        #expect(me.user?.loginAt != nil, "fractional seconds parse")
        #expect(me.user?.settings?.numberFormat == .number(8239))
        #expect(me.user?.settings?.views?.first?.period == "week")
        #expect(me.token.permissionSet.words == ["record pageviews", "export", "read sites", "read statistics"])
        #expect(me.token.allowsSite(7) == true)

        let site = try JSONDecoder().decode(Site.self, from: Data("""
            {"id":3,"parent":1,"cname":"s.example","received_data":"yes","extra_pageviews":null,
             "settings":{"ignore_ips":["192.0.2.9"],"collect":"oops"},"first_hit_at":"2026-01-02T03:04:05Z","new_field":{}}
            """.utf8))
        #expect(site.id == 3 && site.parent == 1 && site.receivedData == nil)
        #expect(site.settings?.ignoreIPs == ["192.0.2.9"] && site.settings?.collect == nil)
        #expect(site.firstHitAt == Date(timeIntervalSince1970: 1_767_323_045))
    }

    @Test("read-only fields are never sent; unset fields are not sent")
    func writableOnly() throws {
        var site = try JSONDecoder().decode(Site.self, from: Data("""
            {"id":3,"parent":1,"cname":"s.example","plan":"personal","stripe":"cus_1","state":"a",
             "created_at":"2026-01-02T03:04:05Z","received_data":true,"link_domain":"example.org"}
            """.utf8))
        site.settings = SiteSettings(ignoreIPs: ["192.0.2.1"])
        let object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(site)) as! [String: Any]
        #expect(Set(object.keys) == ["cname", "link_domain", "settings"])
        #expect(object["settings"] as? [String: [String]] == ["ignore_ips": ["192.0.2.1"]])

        var export = Export(startFromHitID: 5)
        export.id = 9; export.lastHitID = 12; export.numRows = 3
        #expect(String(decoding: try JSONEncoder().encode(export), as: UTF8.self) == #"{"start_from_hit_id":5}"#)

        let me = try JSONDecoder().decode(MeResponse.self, from: Data(#"{"user":{"id":1,"email":"a@b","totp_enabled":true},"token":{"name":"n","permissions":2,"sites":[1]}}"#.utf8))
        let user = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(me.user!)) as! [String: Any]
        #expect(Set(user.keys) == ["email"])
        let token = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(me.token)) as! [String: Any]
        #expect(Set(token.keys) == ["name", "permissions"])

        let hit = APICountRequestHit(path: "/a", userAgent: "UA", createdAt: Date(timeIntervalSince1970: 1_767_323_045))
        let hitObject = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(APICountRequest(hits: [hit]))) as! [String: Any]
        #expect(Set(hitObject.keys) == ["hits"])
        #expect((hitObject["hits"] as! [[String: Any]])[0] as NSDictionary == ["path": "/a", "user_agent": "UA", "created_at": "2026-01-02T03:04:05Z"] as NSDictionary)
    }

    @Test("paths are compared as the server cleans them")
    func pathCleaning() {
        #expect(PathCleaner.clean("/b?utm_source=x&b=2&a=1") == "/b?a=1&b=2")
        #expect(PathCleaner.clean(" /a/?fbclid=1&gclid=2&ref=hn ") == "/a")
        #expect(PathCleaner.clean("/") == "/")
        #expect(PathCleaner.clean("/s?q=a+b&q=c%20d") == "/s?q=a+b&q=c+d")
        #expect(PathCleaner.clean("/s?b=1&a=2&b=0") == "/s?a=2&b=1&b=0", "values of one key keep their order")
        #expect(PathCleaner.clean("/x?_ga=1&_gl=2&msclkid=3&mc_cid=4&mc_eid=5&keep=%2F") == "/x?keep=%2F")
        // Idempotent: the server's stored form cleans to itself.
        for p in ["/b?a=1&b=2", "/a", "/s?q=a+b"] { #expect(PathCleaner.clean(PathCleaner.clean(p)) == PathCleaner.clean(p)) }
    }

    @Test("export CSV: version header, Go quoting, newlines inside quotes")
    func csv() throws {
        let text = "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date\n"
            + "/a,\"Say \"\"hi\"\", twice\",false,UA,,,00000000000000000000000000000001,0,,,,,true,2026-11-27T15:00:23Z\n"
            + "/b,\"two\nlines\",true,UA,,,s,0,example.org,h,,,false,2026-11-28T00:00:00Z\n"
        let rows = try ExportCSV.parse(csv: Data(text.utf8))
        #expect(rows.count == 2)
        #expect(rows[0].title == "Say \"hi\", twice" && rows[0].firstVisit && rows[0].day == "2026-11-27")
        #expect(rows[1].title == "two\nlines" && rows[1].event && rows[1].referrer == "example.org")
        #expect(throws: ExportCSVError.unsupportedVersion("3")) { try ExportCSV.parse(csv: Data("3Path,Date\n".utf8)) }
        #expect(throws: ExportCSVError.notGzip) { try ExportCSV.parse(gzipped: Data(text.utf8)) }
        // Real servers (2.4.1 and 2.7.0) write the booleans as 1 and 0, as the real export in
        // ../shared/exports does.
        let real = "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date\n"
            + "/x,,0,,Firefox 132,Linux ,ba84-af16,0,,o,\"0,0,1\",,1,2026-11-30T16:21:17Z\n"
            + "video/play,,1,,,,s,0,,,,,0,2026-11-30T16:21:18Z\n"
        let realRows = try ExportCSV.parse(csv: Data(real.utf8))
        #expect(realRows.map(\.firstVisit) == [true, false] && realRows.map(\.event) == [false, true])
    }

    @Test("comparison: missing, extra, duplicates, rows outside the interval")
    func comparison() {
        let d = { (day: String, path: String) in DayPath(day: day, path: path) }
        func row(_ path: String, _ date: String, event: Bool = false) -> ExportRow {
            ExportRow(path: path, title: "", event: event, userAgent: "", session: "", bot: 0, referrer: "", firstVisit: false, date: date)
        }
        let expected = [d("2026-11-01", "/a"): 2, d("2026-11-01", "/b?x=1"): 1, d("2026-11-02", "/a"): 1]
        let rows = [row("/a", "2026-11-01T10:00:00Z"), row("/a", "2026-11-01T11:00:00Z"),
                    row("/b?utm_medium=m&x=1", "2026-11-01T12:00:00Z"),
                    row("/c", "2026-11-02T01:00:00Z"), row("/c", "2026-11-02T01:00:00Z"),
                    row("/a", "2026-10-31T23:59:59Z"), row("/a", "2026-11-03T00:00:00Z"), row("click", "2026-11-01T10:00:00Z", event: true)]
        let v = Verification(expected: expected, rows: rows, from: "2026-11-01T00:00:00Z", to: "2026-11-02T23:59:59Z")
        #expect(v.missing == 1 && v.extra == 2 && !v.matches)
        #expect(v.differences.map(\.key) == [d("2026-11-02", "/a"), d("2026-11-02", "/c")])
        #expect(v.notCompared.values.reduce(0, +) == 3)
        let same = Verification(expected: [d("2026-11-01", "/a"): 2], rows: Array(rows.prefix(2)), from: "2026-11-01T00:00:00Z", to: "2026-11-01T23:59:59Z")
        #expect(same.matches)
    }
}

/// The typed client against the test server over loopback.
@Suite(.serialized)
struct APIClientTests {
    func api(_ server: TestServer, key: String = "admin-key", url: String? = nil) -> GoatCounterAPI {
        var options = GoatCounterAPI.Options()
        options.exportPoll = Backoff(base: 0.05, cap: 0.5)
        return GoatCounterAPI(client: GoatCounterClient(site: URL(string: url ?? server.url)!, apiKey: key,
                                                        transport: AsyncHTTPTransport(timeout: 5)), options: options)
    }

    func hit(_ path: String, _ time: String = "2026-11-20T10:00:00Z") -> APICountRequestHit {
        APICountRequestHit(path: path, userAgent: "Mozilla/5.0 Firefox/130.0", ip: "192.0.2.1", createdAt: APITime.parse(time))
    }

    @Test("sites: list, create, PATCH merges, POST replaces; field errors decoded")
    func sites() throws {
        let server = try TestServer(["--ratelimit", "api:none"])
        let client = api(server)
        let me = try client.me()
        #expect(me.token.permissions == 126 && me.user?.email == "test@example.com")
        #expect(try client.sites().map(\.id) == [1])

        let created = try client.createSite(Site(cname: "new.example.org", linkDomain: "example.org"))
        #expect(created.id == 2 && created.parent == 1 && created.linkDomain == "example.org")
        #expect(try client.sites().map(\.cname) == ["stats.example.com", "new.example.org"])

        let patched = try client.updateSite(id: 2, with: SiteUpdateRequest(settings: SiteSettings(ignoreIPs: ["192.0.2.9"])))
        #expect(patched.settings?.ignoreIPs == ["192.0.2.9"])
        #expect(patched.settings?.campaigns == ["utm_campaign", "utm_source", "ref"], "PATCH keeps what was not sent")
        #expect(patched.linkDomain == "example.org")

        let replaced = try client.replaceSite(id: 2, with: SiteUpdateRequest(cname: "new.example.org"))
        #expect(replaced.linkDomain == "" && replaced.settings?.campaigns == [], "POST blanks what was not sent")
        #expect(try client.site(id: 2).cname == "new.example.org")

        #expect { try client.createSite(Site(cname: "new.example.org")) } throws: { error in
            let e = error as? APIError
            return e?.status == 400 && e?.message == "cname: already exists"
        }
        #expect { try self.api(server, key: "test-key").createSite(Site(cname: "x.example.org")) } throws: { error in
            (error as? APIError)?.status == 403 && (error as? APIError)?.message == "requires 'site-create' permissions"
        }
        #expect { try client.site(id: 99) } throws: { ($0 as? APIError)?.status == 404 }
    }

    @Test("count: typed hits, per-hit errors keep the status and the message, filtered indexes")
    func count() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ignore-ip", "stats.example.com=192.0.2.66"])
        let client = api(server, key: "test-key")
        var filteredHit = hit("/f")
        filteredHit.ip = "192.0.2.66"
        let result = try client.count(APICountRequest(hits: [hit("/a"), hit(""), filteredHit]))
        #expect(result.rejected == [1: "path: must be set, must be longer than 1 characters."])
        #expect(result.filtered == [2])
        #expect(try server.hits().map { $0["path"] as? String } == ["/a"])
        #expect { try client.count(APICountRequest(hits: [])) } throws: { error in
            (error as? APIError)?.status == 400 && (error as? APIError)?.message == "no hits"
        }
        #expect(try client.probeCount().allowed)
        #expect(try server.hits().count == 1, "the probe records nothing")
    }

    @Test("probe: a key limited to another site cannot count here")
    func probeOtherSite() throws {
        let server = try TestServer(["--site", "stats.example.com:1", "--site", "127.0.0.1:1", "--site", "other.example.com:2",
                                     "--token", "k1:count:other.example.com"])
        let probe = try api(server, key: "k1").probeCount()
        #expect(!probe.allowed && probe.reason == "this token does not have access to this site")
    }

    @Test("export: start, 202 while running (polled with growing waits), download, gunzip, parse; gone is 400")
    func export() throws {
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "export:none", "--export-delay", "0.6"])
        let client = api(server)
        _ = try client.count(APICountRequest(hits: [hit("/a?utm_source=x&b=2&a=1"), hit("/b", "2026-11-21T08:00:00Z")]))
        let started = try client.startExport()
        #expect(started.id == 1 && started.startFromHitID == 0 && !started.isFinished)
        #expect(try client.downloadExport(id: 1).isRunning)
        var polls = 0
        let rows = try ExportCSV.parse(gzipped: try client.waitForExport(id: 1, timeout: 10) { polls = $0 })
        #expect(rows.map(\.path) == ["/a?a=1&b=2", "/b"])
        #expect(rows.map(\.day) == ["2026-11-20", "2026-11-21"])
        // 0.6 s at waits of 0.025–0.05, 0.05–0.1, … : a handful of polls, not a busy loop.
        #expect(polls >= 2 && polls <= 8, "polls: \(polls)")
        let done = try client.export(id: 1)
        #expect(done.isFinished && done.numRows == 2 && done.lastHitID == 2)

        _ = try client.count(APICountRequest(hits: [hit("/c")]))
        let next = try client.startExport(startFromHitID: done.lastHitID!)
        let more = try ExportCSV.parse(gzipped: try client.waitForExport(id: next.id!, timeout: 10))
        #expect(more.map(\.path) == ["/c"])

        _ = try server.control("POST", "/_test/expire-exports")
        #expect { try client.downloadExport(id: 1) } throws: { error in
            (error as? APIError)?.status == 400 && (error as? APIError)?.message.contains("deleted") == true
        }
    }

    @Test("one export per hour: the second is refused at once, from the headers or from the 429, without sleeping")
    func exportLimit() throws {
        let server = try TestServer(["--ratelimit", "api:none", "--export-delay", "0.1"])
        let client = api(server)
        _ = try client.startExport()
        let started = Date()
        #expect { try client.startExport() } throws: { error in
            guard let e = error as? GoatCounterAPI.RateLimited else { return false }
            return e.limiter == .export && e.seconds > 3000
        }
        #expect((try server.stats()["requests"] as! [String: Int])["POST /api/v0/export"] == 1, "the pacer knew from the headers")
        // A new client has no headers yet: the server's 429 says an hour, which is not waited out.
        #expect { try self.api(server).startExport() } throws: { error in
            (error as? GoatCounterAPI.RateLimited)?.seconds ?? 0 > 3000
        }
        #expect(try server.stats()["rate_limited"] as? Int == 1)
        #expect(Date().timeIntervalSince(started) < 3)
        // The api limiter is separate: polling still works.
        #expect(try client.export(id: 1).id == 1)
    }

    @Test("api limiter, v2.7: paced from the headers, no 429")
    func pacingNew() throws {
        let server = try TestServer(["--ratelimit", "api:3/1"])
        let client = api(server)
        let started = Date()
        for _ in 0..<7 { _ = try client.sites() }
        #expect(try server.stats()["rate_limited"] as? Int == 0)
        #expect(Date().timeIntervalSince(started) >= 1.0, "it waited for the window")
    }

    @Test("api limiter, v2.4.1: recognised from its first reply, paced from the client's own log of send times, no 429")
    func pacingOld() throws {
        let server = try TestServer(["--style", "v2.4.1", "--ratelimit", "api:3/1"])
        let client = api(server)
        var waits: [String] = []
        client.onWait = { _, reason in waits.append(reason) }
        for _ in 0..<5 { _ = try client.sites() }
        let stats = try server.stats()
        #expect((stats["rate_limited"] as? Int ?? 99) == 0)
        #expect((stats["responses"] as! [String: Int])["200"] == 5)
        #expect(client.apiPacer.style == .slidingLog)
        #expect(waits.contains { $0.contains("api rate limit") }, "it waited for its oldest request to leave the window")
    }

    @Test("a 429 without Retry-After when the client's log does not explain it (another client on the address): the whole window is waited")
    func pacingOldForeign() throws {
        let server = try TestServer(["--style", "v2.4.1", "--ratelimit", "api:3/2"])
        // Someone else on this address spends the window first.
        let other = api(server)
        for _ in 0..<3 { _ = try other.sites() }
        let client = api(server)
        var waits: [Double] = []
        client.onWait = { seconds, _ in waits.append(seconds) }
        _ = try client.sites()
        #expect((try server.stats()["rate_limited"] as? Int) == 1)
        #expect(waits.first.map { $0 >= 1.9 } == true, "waited the window's length (\(waits))")
    }

    @Test("a server that answered and then fails is retried until retryFor; one never reached fails at once")
    func retries() throws {
        var options = GoatCounterAPI.Options()
        options.backoff = Backoff(base: 0.05, cap: 0.2)
        options.retryFor = 1
        // Port 1 on loopback refuses connections: a wrong --site, reported without the retries.
        let dead = GoatCounterAPI(client: GoatCounterClient(site: URL(string: "http://127.0.0.1:1")!, apiKey: "test-key",
                                                            transport: AsyncHTTPTransport(timeout: 1)), options: options)
        #expect { try dead.me() } throws: { error in (error as? TransportError)?.message == "connection refused" }

        let server = try TestServer()
        let api = GoatCounterAPI(client: GoatCounterClient(site: URL(string: server.url)!, apiKey: "test-key",
                                                           transport: AsyncHTTPTransport(timeout: 1)), options: options)
        _ = try api.me()
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        let started = Date()
        #expect { try api.me() } throws: { error in
            guard case GoatCounterAPI.Failure.gaveUp(let last, _) = error else { return false }
            return last.contains("connection refused")
        }
        #expect(Date().timeIntervalSince(started) >= 0.9)
    }
}

extension GoatCounterAPI.Download {
    var isRunning: Bool { if case .running = self { return true } else { return false } }
}
