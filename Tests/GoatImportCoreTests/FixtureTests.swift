import Foundation
import Testing
@testable import GoatImportCore

/// The real nginx, Apache and Caddy logs in Tests/Fixtures: line n of each is request n of requests.tsv.
struct FixtureTests {
    struct Case: CustomStringConvertible, Sendable {
        let file: String
        let format: String     // a built-in name, or "@…" read from the .format file beside the log
        let hasUserAgent: Bool
        let hasXFF: Bool
        var description: String { file }
    }

    static let cases: [Case] = [
        Case(file: "nginx/combined.log", format: "combined", hasUserAgent: true, hasXFF: false),
        Case(file: "nginx/vhost.log", format: "combined-vhost", hasUserAgent: true, hasXFF: false),
        Case(file: "nginx/custom.log", format: "nginx-file", hasUserAgent: true, hasXFF: true),
        Case(file: "nginx/iso8601.log", format: "nginx-file", hasUserAgent: true, hasXFF: false),
        Case(file: "apache/combined.log", format: "combined", hasUserAgent: true, hasXFF: false),
        Case(file: "apache/common.log", format: "common", hasUserAgent: false, hasXFF: false),
        Case(file: "apache/vhost_combined.log", format: "combined-vhost", hasUserAgent: true, hasXFF: false),
        Case(file: "apache/custom.log", format: "apache-file", hasUserAgent: true, hasXFF: true),
        Case(file: "caddy/access.json.log", format: "caddy", hasUserAgent: true, hasXFF: true),
        Case(file: "nginx/json.log", format: "nginx-json", hasUserAgent: true, hasXFF: true),
        Case(file: "caddy/access.console.log", format: "caddy-console", hasUserAgent: true, hasXFF: true),
    ]

    static func formatSpec(_ c: Case) throws -> String {
        switch c.format {
        case "nginx-file", "apache-file":
            let formatFile = TestPaths.fixture(c.file.replacingOccurrences(of: ".log", with: ".format"))
            let text = try String(contentsOfFile: formatFile, encoding: .utf8).trimmingCharacters(in: .newlines)
            return (c.format == "nginx-file" ? "nginx:" : "apache:") + text
        default:
            return c.format
        }
    }

    static func expectedReason(_ request: FixtureRequest, _ c: Case) -> SkipReason? {
        switch request.expect {
        case "pageview": return nil
        case "static": return .staticFile
        case "redirect": return .redirect
        case "error": return .error
        case "method": return .method
        case "bot": return c.hasUserAgent ? .bot : nil   // no user agent in the log: cannot tell
        default: fatalError("unknown expectation \(request.expect)")
        }
    }

    @Test("every line becomes the hit or skip reason the request table expects", arguments: cases)
    func outcomes(_ c: Case) throws {
        let (sink, summary) = try importFiles([TestPaths.fixture(c.file)], format: try Self.formatSpec(c))
        #expect(summary.lines == FixtureRequest.all.count)
        #expect(summary[.malformed] == 0)
        var outcome: [Int: SkipReason?] = [:]
        for p in sink.positions { outcome[p.line] = .some(nil) }
        for s in sink.skipped { outcome[s.position.line] = .some(s.reason) }
        for request in FixtureRequest.all {
            let got = outcome[request.n]
            #expect(got != nil, "line \(request.n) produced nothing")
            #expect(got! == Self.expectedReason(request, c), "line \(request.n) \(request.method) \(request.target)")
        }
    }

    /// The same request must give the same hit whichever server logged it.
    @Test("nginx, Apache and Caddy give identical path, query, ref and user agent")
    func serversAgree() throws {
        let nginx = try importFiles([TestPaths.fixture("nginx/combined.log")])
        let apache = try importFiles([TestPaths.fixture("apache/combined.log")])
        let caddy = try importFiles([TestPaths.fixture("caddy/access.json.log")], format: "caddy")
        #expect(nginx.sink.hits.count == apache.sink.hits.count)
        #expect(nginx.sink.hits.count == caddy.sink.hits.count)
        for key in ["path", "query", "ref", "user_agent", "ip"] {
            for i in 0..<min(nginx.sink.hits.count, apache.sink.hits.count, caddy.sink.hits.count) {
                let a = nginx.sink.hits[i][key] as? String, b = apache.sink.hits[i][key] as? String, c = caddy.sink.hits[i][key] as? String
                #expect(a == b, "\(key) of hit \(i): nginx \(a ?? "nil") apache \(b ?? "nil")")
                // Caddy's log has the X-Forwarded-For header, which the combined format does not.
                if key != "ip" || FixtureRequest.all.filter({ $0.expect == "pageview" })[i].xff == "-" {
                    #expect(a == c, "\(key) of hit \(i): nginx \(a ?? "nil") caddy \(c ?? "nil")")
                }
            }
        }
    }

    /// The same requests logged twice by one server must give identical hits, time included.
    @Test("nginx JSON equals nginx custom (with X-Forwarded-For); Caddy's console log equals its JSON log", arguments: [
        ("nginx/custom.log", "nginx-file", "nginx/json.log", "nginx-json"),
        ("caddy/access.json.log", "caddy", "caddy/access.console.log", "caddy-console"),
    ])
    func twoLayoutsAgree(_ a: String, _ formatA: String, _ b: String, _ formatB: String) throws {
        let specA = try Self.formatSpec(Case(file: a, format: formatA, hasUserAgent: true, hasXFF: true))
        let x = try importFiles([TestPaths.fixture(a)], format: specA)
        let y = try importFiles([TestPaths.fixture(b)], format: formatB)
        #expect(x.sink.hits.count == y.sink.hits.count)
        #expect(x.sink.positions.map(\.line) == y.sink.positions.map(\.line))
        for (i, (h, k)) in zip(x.sink.hits, y.sink.hits).enumerated() {
            for key in ["path", "query", "ref", "user_agent", "ip", "created_at"] {
                #expect(h[key] as? String == k[key] as? String, "\(key) of hit \(i)")
            }
        }
    }

    func hit(_ sink: CollectingSink, line: Int) -> [String: Any]? {
        sink.positions.firstIndex { $0.line == line }.map { sink.hits[$0] }
    }

    @Test("escapes, quotes, UTF-8, query strings and long URLs come out right")
    func values() throws {
        for file in ["nginx/combined.log", "apache/combined.log"] {
            let (sink, summary) = try importFiles([TestPaths.fixture(file)])
            #expect(hit(sink, line: 1)?["path"] as? String == "/")
            #expect(hit(sink, line: 1)?["query"] == nil)
            #expect(hit(sink, line: 1)?["ref"] == nil, "a '-' referrer is no referrer")
            #expect(hit(sink, line: 9)?["path"] as? String == "/?utm_source=news&utm_campaign=fall")
            #expect(hit(sink, line: 9)?["query"] as? String == "?utm_source=news&utm_campaign=fall")
            #expect(hit(sink, line: 9)?["ref"] as? String == "https://www.google.com/")
            #expect(hit(sink, line: 11)?["path"] as? String == "/caf%C3%A9/")
            #expect(hit(sink, line: 13)?["path"] as? String == "/café/", "\\xC3\\xA9 decoded to UTF-8")
            #expect(hit(sink, line: 14)?["query"] as? String == "?q=café&lang=fr")
            #expect(hit(sink, line: 16)?["path"] as? String == "/q?x=\"hi\"")
            let long = hit(sink, line: 18)?["path"] as? String
            #expect(long?.unicodeScalars.count == 2048, "clipped to the server's 2048-character limit")
            #expect(summary.clipped.path == 1)
            #expect(hit(sink, line: 34)?["user_agent"] as? String == "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0 \"quoted\"")
            #expect(hit(sink, line: 35)?["user_agent"] as? String == "Mozilla/5.0 \"quoted\" Ünïcödé")
            #expect(hit(sink, line: 57)?["user_agent"] as? String == "Mozilla/5.0 (Windows NT 10.0; Win64; x64) C:\\Temp\\ \"x\"")
            #expect(hit(sink, line: 42)?["ref"] as? String == "https://www.example.org/search?q=\"goat counter\"")
            #expect(hit(sink, line: 43)?["ref"] as? String == "https://www.example.org/café?x=ü")
        }
    }

    @Test("created_at is the log's own time converted to UTC (independent check with Foundation)")
    func timesInUTC() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss Z"
        let iso = ISO8601DateFormatter()
        let lines = try String(contentsOfFile: TestPaths.fixture("nginx/combined.log"), encoding: .utf8).split(separator: "\n")
        let (sink, _) = try importFiles([TestPaths.fixture("nginx/combined.log")])
        #expect(!sink.hits.isEmpty)
        for (i, position) in sink.positions.enumerated() {
            let line = lines[position.line - 1]
            let stamp = line.split(separator: "[")[1].split(separator: "]")[0]
            #expect(stamp.hasSuffix("+0100"), "the capture ran in Europe/Amsterdam")
            let expected = iso.string(from: formatter.date(from: String(stamp))!)
            #expect(sink.hits[i]["created_at"] as? String == expected)
        }
        // The ISO 8601 log and Caddy's epoch seconds go through other parsers; same rule.
        let isoLog = try importFiles([TestPaths.fixture("nginx/iso8601.log")],
                                     format: "nginx:" + (try String(contentsOfFile: TestPaths.fixture("nginx/iso8601.format"), encoding: .utf8)).trimmingCharacters(in: .newlines))
        let isoLines = try String(contentsOfFile: TestPaths.fixture("nginx/iso8601.log"), encoding: .utf8).split(separator: "\n")
        for (i, position) in isoLog.sink.positions.enumerated() {
            let stamp = isoLines[position.line - 1].split(separator: "[")[1].split(separator: "]")[0]
            #expect(isoLog.sink.hits[i]["created_at"] as? String == iso.string(from: iso.date(from: String(stamp))!))
        }
        let caddyLines = try String(contentsOfFile: TestPaths.fixture("caddy/access.json.log"), encoding: .utf8).split(separator: "\n")
        let caddy = try importFiles([TestPaths.fixture("caddy/access.json.log")], format: "caddy")
        for (i, position) in caddy.sink.positions.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(caddyLines[position.line - 1].utf8)) as! [String: Any]
            let ts = (object["ts"] as! NSNumber).doubleValue
            #expect(caddy.sink.hits[i]["created_at"] as? String == iso.string(from: Date(timeIntervalSince1970: ts.rounded(.down))))
        }
    }

    @Test("the client address: remote address without port, or the rightmost public X-Forwarded-For entry")
    func clientAddress() throws {
        for c in Self.cases where c.hasXFF {
            let (sink, _) = try importFiles([TestPaths.fixture(c.file)], format: try Self.formatSpec(c))
            #expect(hit(sink, line: 1)?["ip"] as? String == "127.0.0.1" || hit(sink, line: 1)?["ip"] as? String == "::1", "\(c.file)")
            #expect(hit(sink, line: 36)?["ip"] as? String == "203.0.113.7", "\(c.file): 203.0.113.7, 10.0.0.2")
            #expect(hit(sink, line: 37)?["ip"] as? String == "198.51.100.23", "\(c.file): 198.51.100.23, 192.168.1.5, 127.0.0.1")
            #expect(hit(sink, line: 38)?["ip"] as? String == "2001:db8::1", "\(c.file): 2001:db8::1, 10.0.0.3")
        }
    }

    @Test("vhost formats read the host; nginx writes [::1] for IPv6")
    func hosts() throws {
        let nginx = try importFiles([TestPaths.fixture("nginx/vhost.log")], format: "combined-vhost") { options in
            options.filter.excludes = [try Rule("host:glob:blog.example.net")]
        }
        #expect(nginx.summary[.excluded] == 3, "requests 40, 41 and 52 went to blog.example.net")
        let apache = try importFiles([TestPaths.fixture("apache/vhost_combined.log")], format: "combined-vhost") { options in
            options.filter.excludes = [try Rule("host:blog.example.net")]
        }
        #expect(apache.summary[.excluded] == 3)
    }

    @Test("the shipped example dry-runs cleanly")
    func example() throws {
        let (sink, summary) = try importFiles([TestPaths.root.appendingPathComponent("examples/access.log").path])
        #expect(summary[.malformed] == 0)
        #expect(sink.hits.count > 100)
    }
}

struct BuiltinFormatFileTests {
    @Test("the embedded built-in formats are exactly the files in formats/ (run scripts/embed-formats.sh)")
    func embeddedMatchesFiles() throws {
        let dir = TestPaths.root.appendingPathComponent("formats")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".format") }.sorted()
        #expect(files == BuiltinFormats.embedded.map(\.file).sorted())
        for entry in BuiltinFormats.embedded {
            let text = try String(contentsOfFile: dir.appendingPathComponent(entry.file).path, encoding: .utf8)
            #expect(text == entry.text + "\n" || text == entry.text, "\(entry.file) differs from the embedded copy")
        }
        #expect(BuiltinFormats.all.map(\.name) == ["combined", "common", "combined-vhost", "common-vhost", "caddy", "caddy-console",
                                                   "nginx-json", "traefik", "haproxy", "elb", "alb", "cloudfront", "s3", "w3c", "bunny", "goatcounter-csv"])
    }
}
