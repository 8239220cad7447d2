import Foundation
import Testing
@testable import GoatImportCore

/// The client behind a proxy: X-Forwarded-For is believed only from a trusted proxy, and then
/// its rightmost address that is not one.
struct TrustedProxyTests {
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"

    /// nginx's `combined` plus `"$http_x_forwarded_for"`, as in Tests/Fixtures/nginx/custom.format.
    func nginxLine(_ remote: String, _ xff: String) -> String {
        "\(remote) - - [20/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"\(ua)\" \"\(xff)\""
    }

    func ips(_ lines: [String], format: String, trusted: TrustedProxies = .loopbackAndPrivate) throws -> [String] {
        let path = TestPaths.tempDir().appendingPathComponent("access.log").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (sink, _) = try importFiles([path], format: format) { $0.trustedProxies = trusted }
        return sink.hits.map { $0["ip"] as? String ?? "" }
    }

    let nginxFormat = #"nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for""#

    @Test("nginx: the header is read behind a trusted proxy, never from a public address")
    func nginx() throws {
        let got = try ips([
            nginxLine("127.0.0.1", "203.0.113.7, 10.0.0.2"),       // local proxy: the client it forwarded
            nginxLine("198.51.100.7", "203.0.113.9"),              // a public client writing its own header
            nginxLine("10.0.0.2", "192.0.2.1, 203.0.113.8"),       // a spoofed left entry: the rightmost untrusted wins
            nginxLine("127.0.0.1", "unknown, 10.0.0.5"),           // the chain breaks: the address the server saw
            nginxLine("127.0.0.1", "-"),
        ], format: nginxFormat)
        #expect(got == ["203.0.113.7", "198.51.100.7", "203.0.113.8", "127.0.0.1", "127.0.0.1"])
    }

    @Test("--trusted-proxy replaces the default: only the named networks are believed")
    func configured() throws {
        let trusted = TrustedProxies(networks: [CIDR("198.51.100.0/24")!])
        let got = try ips([nginxLine("198.51.100.7", "203.0.113.9, 198.51.100.3"), nginxLine("127.0.0.1", "203.0.113.9")],
                          format: nginxFormat, trusted: trusted)
        #expect(got == ["203.0.113.9", "127.0.0.1"])
        let none = try ips([nginxLine("127.0.0.1", "203.0.113.9")], format: nginxFormat, trusted: TrustedProxies(networks: []))
        #expect(none == ["127.0.0.1"])
    }

    @Test("Caddy: request.headers.X-Forwarded-For behind a local proxy, as for nginx (the real captured log)")
    func caddy() throws {
        // Lines 36–38 of the capture came through a local proxy (client_ip 127.0.0.1).
        let (sink, _) = try importFiles([TestPaths.fixture("caddy/access.json.log")], format: "caddy")
        let byLine = Dictionary(uniqueKeysWithValues: zip(sink.positions.map(\.line), sink.hits.map { $0["ip"] as? String ?? "" }))
        #expect(byLine[36] == "203.0.113.7" && byLine[37] == "198.51.100.23" && byLine[38] == "2001:db8::1", "\(byLine)")
        // From a public client_ip the header is the client's own word.
        let spoofed = #"{"level":"info","ts":1763632800.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"198.51.100.7","remote_port":"5555","client_ip":"198.51.100.7","proto":"HTTP/1.1","method":"GET","host":"www.example.com","uri":"/","headers":{"User-Agent":["\#(ua)"],"X-Forwarded-For":["203.0.113.9"]}},"status":200}"#
        #expect(try ips([spoofed], format: "caddy") == ["198.51.100.7"])
    }

    @Test("CloudFront: the viewer's own header is not believed unless its address is a trusted proxy")
    func cloudfront() throws {
        let log = TestPaths.fixture("cloudfront/E2EXAMPLE.2026-11-27-14.abcd1234")
        func ipOfLine8(_ trusted: TrustedProxies) throws -> String? {
            let (sink, _) = try importFiles([log], format: "cloudfront") { $0.trustedProxies = trusted }
            return zip(sink.positions, sink.hits).first { $0.0.line == 8 }?.1["ip"] as? String
        }
        // c-ip 192.0.2.9 sent x-forwarded-for 198.51.100.23.
        #expect(try ipOfLine8(.loopbackAndPrivate) == "192.0.2.9")
        #expect(try ipOfLine8(TrustedProxies(networks: [CIDR("192.0.2.9")!])) == "198.51.100.23")
    }

    @Test("the option: addresses and networks, none, and a clear error")
    func option() throws {
        let log = TestPaths.tempDir().appendingPathComponent("access.log").path
        try (nginxLine("198.51.100.7", "203.0.113.9") + "\n").write(toFile: log, atomically: true, encoding: .utf8)
        let trusted = try run(TestPaths.binary, ["--dry-run", "--format", nginxFormat, "--trusted-proxy", "198.51.100.0/24", log])
        #expect(trusted.stdout.contains("\"ip\":\"203.0.113.9\""), "\(trusted.stdout)\(trusted.stderr)")
        let bad = try run(TestPaths.binary, ["--dry-run", "--trusted-proxy", "10.0.0.0/99", log])
        #expect(bad.status == 64 && bad.stderr.contains("--trusted-proxy 10.0.0.0/99: expected an address or a CIDR network"))
    }
}
