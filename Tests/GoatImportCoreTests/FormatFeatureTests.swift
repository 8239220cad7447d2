import Foundation
import Testing
@testable import GoatImportCore

/// The pieces the newer built-in formats need: absolute request URIs, millisecond epochs,
/// user agents encoded to fit a column, HAProxy's #XX, JSON behind a prefix, .format keys.
struct FormatFeatureTests {
    @Test("an absolute request URI gives the path as a browser shows it and the host; a host field wins")
    func absoluteURI() throws {
        let r = try importLines([#"203.0.113.1 - - [27/Nov/2026:14:58:10 +0000] "GET https://Example.com:8443/a/b?c=d HTTP/1.1" 200 1 "-" "Mozilla/5.0""#]) { options in
            options.filter.excludes = [try Rule("host:Example.com")]
        }
        #expect(r.summary[.excluded] == 1, "host from the URI, without its port")
        let v6 = try SampleFixtureTests.hostsOf(format: "combined", [#"203.0.113.1 - - [27/Nov/2026:14:58:10 +0000] "GET http://[2001:db8::1]:80/x HTTP/1.1" 200 1 "-" "M""#])
        #expect(v6 == ["[2001:db8::1]"])
        let vhost = try SampleFixtureTests.hostsOf(format: "combined-vhost", [#"www.example.com 203.0.113.1 - - [27/Nov/2026:14:58:10 +0000] "GET http://other.test/x HTTP/1.1" 200 1 "-" "M""#])
        #expect(vhost == ["www.example.com"])
        let (sink, _) = try importLines([#"203.0.113.1 - - [27/Nov/2026:14:58:10 +0000] "GET http://example.com/p?q=1 HTTP/1.1" 200 1 "-" "Mozilla/5.0""#])
        #expect(sink.hits.first?["path"] as? String == "/p?q=1")
        #expect(sink.hits.first?["query"] as? String == "?q=1")
    }

    @Test("user agents: + for spaces (IIS), %XX and CloudFront's older %2520 (percent)")
    func userAgentEscapes() {
        func decode(_ s: String, _ style: UserAgentEscapes) -> String {
            let out = ByteBuffer()
            Array(s.utf8).withUnsafeBufferPointer { Unescape.decodeUserAgent($0.baseAddress!, $0.count, style, into: out) }
            return out.string
        }
        #expect(decode("Mozilla/5.0+(Windows+NT+10.0)", .plus) == "Mozilla/5.0 (Windows NT 10.0)")
        #expect(decode("Mozilla/5.0%20(X11;%20Linux)", .percent) == "Mozilla/5.0 (X11; Linux)")
        #expect(decode("Mozilla/5.0%2520(X11)", .percent) == "Mozilla/5.0 (X11)")
        #expect(decode("100%25 sure %zz %4", .percent) == "100% sure %zz %4")
    }

    @Test("HAProxy's #XX in the request line is decoded; a # without hex stays")
    func hashEscapes() {
        let out = ByteBuffer()
        let s = Array("/q=caf#C3#A9&x=#22#zz#".utf8)
        #expect(Unescape.needed(s, s.count, .hash))
        s.withUnsafeBufferPointer { Unescape.decode($0.baseAddress!, $0.count, .hash, into: out) }
        #expect(out.string == "/q=café&x=\"#zz#")
    }

    @Test("times: milliseconds since the epoch, and dates written with slashes")
    func times() {
        let ms = Array("1795791490123".utf8)
        #expect(Timestamp.parseEpochMillis(ms, ms.count) == 1795791490)
        let d = Array("2026/11/27".utf8), t = Array("14:58:10.597".utf8)
        #expect(Timestamp.parseDateAndTime(d, d.count, t, t.count) == 1795791490)
        let bad = Array("2026/11-27".utf8)
        #expect(Timestamp.parseDateAndTime(bad, bad.count, t, t.count) == nil)
    }

    @Test("nginx-json reads $request or $request_method + $request_uri, $time_local or $time_iso8601, \"\" as no value")
    func nginxJSONVariants() throws {
        let (sink, summary) = try importLines([
            #"{"time_local":"27/Nov/2026:15:58:10 +0100","remote_addr":"203.0.113.1","request":"GET /a?b=1 HTTP/1.1","status":"200","http_referer":"","http_user_agent":"Mozilla/5.0 \"x\""}"#,
            #"{"time_iso8601":"2026-11-27T15:58:11+01:00","remote_addr":"203.0.113.2","request_method":"GET","request_uri":"/c","status":200,"http_referer":"https://r.test/","http_user_agent":"Mozilla/5.0","host":"www.example.com"}"#,
            #"{"msec":"1795791492.001","remote_addr":"203.0.113.3","request_method":"POST","request_uri":"/d","status":200,"http_user_agent":"Mozilla/5.0"}"#,
        ], format: "nginx-json")
        #expect(sink.hits.map { $0["path"] as? String } == ["/a?b=1", "/c"])
        #expect(sink.hits.map { $0["created_at"] as? String } == ["2026-11-27T14:58:10Z", "2026-11-27T14:58:11Z"])
        #expect(sink.hits[0]["ref"] == nil)
        #expect(sink.hits[0]["user_agent"] as? String == "Mozilla/5.0 \"x\"")
        #expect(summary[.method] == 1)
    }

    @Test("caddy-console: the time from the prefix, the rest from caddy's own mapping")
    func caddyConsole() throws {
        let format = try LogFormat.resolve("caddy-console")
        guard case .json(let mapping, let prefix) = format.body, let caddy = BuiltinFormats.named("caddy"),
              case .json(let caddyMapping, nil) = caddy.body else {
            Issue.record("caddy-console is not a prefixed json format")
            return
        }
        #expect(prefix != nil)
        #expect(mapping.map(\.field) == caddyMapping.map(\.field))
        let (sink, _) = try importLines([
            "2026/11/27 14:58:10.597\t\u{1b}[34mINFO\u{1b}[0m\thttp.log.access.log0\thandled request\t{\"request\": {\"remote_ip\": \"203.0.113.5\", \"method\": \"GET\", \"host\": \"example.com\", \"uri\": \"/x?y=z\", \"headers\": {\"User-Agent\": [\"Mozilla/5.0\"]}}, \"status\": 200}",
            "2026/11/27 14:58:11.000\tINFO\thttp.handlers.reverse_proxy\tselected upstream\t{\"dial\": \"10.0.0.1:80\"}",
        ], format: "caddy-console")
        #expect(sink.hits.count == 1)
        #expect(sink.hits.first?["created_at"] as? String == "2026-11-27T14:58:10Z")
        #expect(sink.hits.first?["path"] as? String == "/x?y=z")
        #expect(sink.hits.first?["ip"] as? String == "203.0.113.5")
    }

    @Test(".format files: kind w3c, user-agent, directives, mapping and prefix keys; bad values are named")
    func formatFileKeys() throws {
        let w3c = try FormatFile.parse("# W3C\nkind: w3c\n", name: "x.format")
        #expect(w3c.directives && w3c.userAgentEscapes == .plus)
        let json = try FormatFile.parse("# J\nkind: json\nprefix: ^\\S+[ ]\nmapping: caddy\n", name: "j.format")
        if case .json(let mapping, let prefix) = json.body {
            #expect(prefix == "^\\S+[ ]")
            #expect(!mapping.isEmpty)
        } else { Issue.record("not json") }
        #expect(throws: FormatError.badFormatFile("m.format", line: 1, "mapping: combined is not a built-in json format")) {
            try FormatFile.parse("kind: json\nmapping: combined\n", name: "m.format")
        }
        #expect(throws: FormatError.badFormatFile("u.format", line: 1, "user-agent must be plus, percent or none")) {
            try FormatFile.parse("user-agent: rot13\n---\n^(?<path>\\S+)\n", name: "u.format")
        }
    }
}

extension SampleFixtureTests {
    /// The host each line's pageview carries, read with one parser in order.
    static func hostsOf(format: String, _ lines: [String]) throws -> [String] {
        let parser = try LogFormat.resolve(format).makeParser()
        let builder = PageviewBuilder()
        let fields = ParsedFields()
        var pv = Pageview()
        return lines.compactMap { line in
            Array(line.utf8).withUnsafeBufferPointer { b -> String? in
                guard parser.parse(b.baseAddress!, b.count, into: fields), builder.build(b.baseAddress!, fields, into: &pv) == nil,
                      pv.host.isPresent else { return nil }
                return String(decoding: b[pv.host.start..<pv.host.end], as: UTF8.self)
            }
        }
    }
}
