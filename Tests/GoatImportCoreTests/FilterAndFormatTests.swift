import Foundation
import Testing
@testable import GoatImportCore

/// Runs the importer over in-memory lines.
func importLines(_ lines: [String], format: String = "combined", configure: (inout Importer.Options) throws -> Void = { _ in })
    throws -> (sink: CollectingSink, summary: ImportSummary) {
    let dir = TestPaths.tempDir()
    let path = dir.appendingPathComponent("in.log").path
    try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
    return try importFiles([path], format: format, configure: configure)
}

func combined(ip: String = "203.0.113.9", method: String = "GET", path: String = "/", status: Int = 200,
              ref: String = "-", ua: String = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
              time: String = "27/Nov/2026:15:58:10 +0100") -> String {
    "\(ip) - - [\(time)] \"\(method) \(path) HTTP/1.1\" \(status) 123 \"\(ref)\" \"\(ua)\""
}

struct FilterTests {
    @Test("default filters: static by extension (case-insensitive, query ignored), 304 kept, HEAD/POST, bots")
    func defaults() throws {
        let (sink, summary) = try importLines([
            combined(path: "/img/Logo.PNG?v=3"), combined(path: "/app.js"), combined(path: "/post.html"),
            combined(path: "/a.b/page"), combined(status: 304), combined(status: 301), combined(status: 302),
            combined(status: 404), combined(status: 502), combined(method: "HEAD"), combined(method: "POST"),
            combined(ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            combined(ua: "python-requests/2.31"), combined(ua: "-"),
        ])
        #expect(sink.hits.map { $0["path"] as! String } == ["/post.html", "/a.b/page", "/"])
        #expect(summary[.staticFile] == 2)
        #expect(summary[.redirect] == 2)
        #expect(summary[.error] == 2)
        #expect(summary[.method] == 2)
        #expect(summary[.bot] == 3)
    }

    @Test("--keep turns a default filter off")
    func keep() throws {
        let (sink, _) = try importLines([combined(path: "/app.js"), combined(method: "POST")]) { options in
            options.filter.enabled.remove(.staticFile)
        }
        #expect(sink.hits.map { $0["path"] as! String } == ["/app.js"])
    }

    @Test("--exclude rules: path glob and regex, CIDR, status classes, user agent; --include re-admits")
    func rules() throws {
        let lines = [
            combined(path: "/admin/users"), combined(path: "/wp-login.php"), combined(ip: "10.1.2.3"),
            combined(ip: "2001:db8::5"), combined(ua: "Mozilla/5.0 FooMeter"), combined(path: "/ok"),
            combined(path: "/keep.css"),
        ]
        let (sink, summary) = try importLines(lines) { options in
            options.filter.excludes = try ["path:glob:/admin/*", "path:re:^/wp-", "ip:10.0.0.0/8,2001:db8::/32", "ua:foometer"].map(Rule.init)
            options.filter.includes = [try Rule("path:/keep.*")]
        }
        #expect(sink.hits.map { $0["path"] as! String } == ["/ok", "/keep.css"])
        #expect(summary[.excluded] == 5)
        let statuses = try importLines([combined(status: 200), combined(status: 204), combined(status: 404)]) { options in
            options.filter.enabled.remove(.error)
            options.filter.excludes = [try Rule("status:204,5xx")]
        }
        #expect(statuses.sink.hits.count == 2)
    }

    @Test("bad rules are clear errors")
    func badRules() {
        #expect(throws: Rule.ParseError.self) { try Rule("pth:/x") }
        #expect(throws: Rule.ParseError.self) { try Rule("ip:10.0.0.0/33") }
        #expect(throws: Rule.ParseError.self) { try Rule("status:abc") }
        #expect(throws: Rule.ParseError.self) { try Rule("path:re:(unclosed") }
    }

    @Test("--since and --until select by the log's time")
    func timeRange() throws {
        let (sink, summary) = try importLines([
            combined(time: "31/Oct/2026:23:59:59 +0000"), combined(time: "01/Nov/2026:00:00:00 +0000"),
            combined(time: "30/Nov/2026:23:59:59 +0000"), combined(time: "01/Dec/2026:00:00:00 +0000"),
        ]) { options in
            options.filter.since = Timestamp.daysFromCivil(2026, 11, 1) * 86400
            options.filter.until = Timestamp.daysFromCivil(2026, 12, 1) * 86400
        }
        #expect(sink.hits.count == 2)
        #expect(summary[.beforeSince] == 1 && summary[.afterUntil] == 1)
    }

    @Test("malformed lines are counted with their line number and the import goes on")
    func malformed() throws {
        var reported: [(Int, String)] = []
        let (sink, summary) = try importLines([combined(), "garbage line", combined(path: "nopath"), combined()]) { options in
            options.onMalformed = { _, line, reason, _ in reported.append((line, reason)) }
        }
        #expect(sink.hits.count == 2)
        #expect(summary[.malformed] == 2)
        #expect(reported.map(\.0) == [2, 3])
    }

    @Test("CIDR matching for IPv4 and IPv6; private ranges")
    func cidr() {
        #expect(CIDR("192.168.0.0/16")!.contains(IPAddress("192.168.44.1")!))
        #expect(!CIDR("192.168.0.0/16")!.contains(IPAddress("192.169.0.1")!))
        #expect(CIDR("2001:db8::/32")!.contains(IPAddress("2001:db8:1::1")!))
        #expect(!CIDR("2001:db8::/32")!.contains(IPAddress("10.0.0.1")!))
        #expect(CIDR("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        for p in ["10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "::1", "fd00::1", "fe80::1", "100.64.0.1"] {
            #expect(IPAddress(p)!.isPrivate, "\(p)")
        }
        for p in ["8.8.8.8", "172.32.0.1", "2001:db8::1", "[2a00:1450::1]:443", "203.0.113.7:5555"] {
            #expect(IPAddress(p)?.isPrivate == false, "\(p)")
        }
    }
}

struct FormatTests {
    @Test("nginx log_format strings become patterns; unknown variables are named")
    func nginx() throws {
        let format = try LogFormat.resolve(#"nginx:$remote_addr [$time_local] "$request" $status "$http_user_agent" $request_time"#)
        let (sink, _) = try importLines([#"198.51.100.4 [27/Nov/2026:15:58:10 +0100] "GET /x?y=1 HTTP/1.1" 200 "Mozilla/5.0 \x22q\x22" 0.003"#]) {
            $0.format = format
        }
        #expect(sink.hits.first?["path"] as? String == "/x?y=1")
        #expect(sink.hits.first?["user_agent"] as? String == "Mozilla/5.0 \"q\"")
        #expect(throws: FormatError.unknownVariables(kind: "nginx", ["$nope", "$also_not"])) {
            try LogFormat.resolve("nginx:$remote_addr $nope $also_not $request")
        }
        #expect(throws: FormatError.noPath) { try LogFormat.resolve("nginx:$remote_addr $status") }
    }

    @Test("nginx separate $uri and $args fields build path?query")
    func nginxURIAndArgs() throws {
        let (sink, _) = try importLines(["1.2.3.4 [27/Nov/2026:15:58:10 +0100] GET /p a=1&b=2 200 Mozilla/5.0"]) {
            $0.format = try LogFormat.resolve("nginx:$remote_addr [$time_local] $request_method $uri $args $status $http_user_agent")
        }
        #expect(sink.hits.first?["path"] as? String == "/p?a=1&b=2")
        #expect(sink.hits.first?["query"] as? String == "?a=1&b=2")
    }

    @Test("Apache LogFormat strings; %t brackets, %q, headers; unknown directives are named")
    func apache() throws {
        let (sink, _) = try importLines([#"127.0.0.1 [27/Nov/2026:15:58:10 +0100] GET /a ?b=c 200 "Mozilla/5.0 \"x\"""#]) {
            $0.format = try LogFormat.resolve(#"apache:%h %t %m %U %q %>s "%{User-Agent}i""#)
        }
        #expect(sink.hits.first?["path"] as? String == "/a?b=c")
        #expect(sink.hits.first?["user_agent"] as? String == "Mozilla/5.0 \"x\"")
        #expect(throws: FormatError.unknownVariables(kind: "Apache", ["%Z"])) { try LogFormat.resolve("apache:%h %Z %r") }
    }

    @Test("regex formats use named groups; unknown group names are an error")
    func regex() throws {
        let (sink, _) = try importLines(["2026-11-27 14:58:10 GET /r 200"]) {
            $0.format = try LogFormat.resolve(#"regex:^(?<date>\S+) (?<time>\S+) (?<method>\S+) (?<path>\S+) (?<status>\d+)$"#)
            $0.timeZone = try LogTimeZone("+01:00")
        }
        #expect(sink.hits.first?["created_at"] as? String == "2026-11-27T13:58:10Z", "--tz applies to times without offset")
        #expect(throws: FormatError.self) { try LogFormat.resolve(#"regex:(?<wat>\S+) (?<path>\S+)"#) }
        #expect(throws: FormatError.self) { try LogFormat.resolve("nosuchformat") }
    }

    @Test("check explains where a line stops matching")
    func diagnosis() throws {
        let diagnosis = FormatDiagnosis(format: try LogFormat.resolve("combined"))
        let why = diagnosis.explain(Array(#"1.2.3.4 - - [27/Nov/2026:15:58:10 +0100] "GET / HTTP/1.1" OK 5 "-" "ua""#.utf8))
        #expect(why.contains("status"), "\(why)")
        #expect(why.contains("OK 5"), "\(why)")
    }
}
