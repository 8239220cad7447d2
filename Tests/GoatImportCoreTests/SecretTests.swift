import Foundation
import Testing
@testable import GoatImportCore

/// The API key and a password in --site never reach any output, whatever shape they come in.
@Suite(.serialized)
struct SecretTests {
    let dir = TestPaths.tempDir()
    let log = TestPaths.root.appendingPathComponent("examples/access.log").path

    func keyFile(_ text: String) throws -> String {
        let path = dir.appendingPathComponent("key-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    func summaryJSON() -> String { dir.appendingPathComponent("summary.json").path }

    /// stdout, stderr and the summary file of a run, together.
    func allOutput(_ r: (status: Int32, stdout: String, stderr: String)) -> String {
        r.stdout + r.stderr + ((try? String(contentsOfFile: summaryJSON(), encoding: .utf8)) ?? "")
    }

    @Test("a key file may hold # comments, blank lines and CRLF around the one key")
    func keyFileWithComments() throws {
        let server = try CheckpointRunTests.noLimits()
        let file = try keyFile("# goatimport key for stats.example.com\r\n\r\n  test-key \r\n# rotated 2026-11\n")
        let r = try run(TestPaths.binary, ["--site", server.url, "--api-key-file", file, "--no-state", "-v", "--summary-json", summaryJSON(), log],
                        environment: testEnvironment(key: ""))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try server.hits().count > 0)
        #expect(!allOutput(r).contains("test-key"))
    }

    @Test("two keys, a key with a space or a control byte: refused, and the message never holds the key",
          arguments: ["test-key\nsecond-key-Q7\n", "test key-Q7\n", "test-key-Q7\u{1b}\n", "# only a comment\n"])
    func keyFileRefused(_ text: String) throws {
        let server = try CheckpointRunTests.noLimits()
        let file = try keyFile(text)
        let r = try run(TestPaths.binary, ["--site", server.url, "--api-key-file", file, "--no-state", "--summary-json", summaryJSON(), log],
                        environment: testEnvironment(key: ""))
        #expect(r.status != 0)
        #expect(r.stderr.contains("--api-key-file \(file)"), "\(r.stderr)")
        for secret in ["test-key", "key-Q7", "second-key"] { #expect(!allOutput(r).contains(secret), "\(r.stderr)") }
        #expect(try server.countRequests() == 0)
    }

    @Test("$GOATCOUNTER_API_KEY ending in CRLF works; one with a line break inside is refused without showing it")
    func environmentKey() throws {
        let server = try CheckpointRunTests.noLimits()
        let ok = try run(TestPaths.binary, ["--site", server.url, "--no-state", log], environment: testEnvironment(key: "test-key\r\n"))
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(!allOutput(ok).contains("test-key"))
        let bad = try run(TestPaths.binary, ["--site", server.url, "--no-state", log], environment: testEnvironment(key: "test-key\r\nX-Other: Q7"))
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("GOATCOUNTER_API_KEY"), "\(bad.stderr)")
        #expect(!allOutput(bad).contains("test-key") && !allOutput(bad).contains("Q7"), "\(bad.stderr)")
    }

    @Test("a user and password in --site or a site map: refused, the password shown nowhere")
    func passwordInSite() throws {
        let server = try CheckpointRunTests.noLimits()
        let withPassword = server.url.replacingOccurrences(of: "http://", with: "http://bob:pw-Q7@")
        let r = try run(TestPaths.binary, ["--site", withPassword, "--no-state", "-v", "--summary-json", summaryJSON(), log],
                        environment: testEnvironment())
        #expect(r.status != 0)
        #expect(r.stderr.contains("http://***@127.0.0.1"), "\(r.stderr)")
        #expect(!allOutput(r).contains("pw-Q7") && !allOutput(r).contains("bob"), "\(r.stderr)")
        let map = try run(TestPaths.binary, ["--site-map", "*=\(withPassword)", "--no-state", log], environment: testEnvironment())
        #expect(map.status != 0)
        #expect(!allOutput(map).contains("pw-Q7"), "\(map.stderr)")
        #expect(try server.countRequests() == 0)
        #expect(GoatCounterClient.redactingCredentials("https://u:p@h.example/x@y") == "https://***@h.example/x@y")
        #expect(GoatCounterClient.redactingCredentials("https://h.example/a@b") == "https://h.example/a@b")
    }

    @Test("plain http to another host warns once; to loopback it does not")
    func plainHTTP() throws {
        let far = try run(TestPaths.binary, ["--site", "http://goatcounter.invalid", "--no-state", "--timeout", "2", log],
                          environment: testEnvironment())
        #expect(far.stderr.components(separatedBy: "plain http").count == 2, "\(far.stderr)")
        let server = try CheckpointRunTests.noLimits()
        let near = try run(TestPaths.binary, ["--site", server.url, "--no-state", log], environment: testEnvironment())
        #expect(near.status == 0 && !near.stderr.contains("plain http"), "\(near.stderr)")
    }
}
