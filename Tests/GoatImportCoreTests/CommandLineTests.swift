import Foundation
import Testing
@testable import GoatImportCore

/// The real `goatimport` binary, as a user runs it.
struct CommandLineTests {
    let bin = TestPaths.binary

    @Test("--dry-run prints only NDJSON hits on stdout and the summary on stderr")
    func dryRun() throws {
        let r = try run(bin, ["--dry-run", TestPaths.fixture("nginx/combined.log")])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == FixtureRequest.all.filter { $0.expect == "pageview" }.count)
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any]) }
        #expect(r.stderr.contains("57 lines read"))
        #expect(r.stderr.contains("static"))
    }

    @Test("stdin with -, gzip detected by content")
    func stdinGzip() throws {
        let data = try gzip(Array(try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("apache/common.log")))))
        let r = try run(bin, ["--dry-run", "--format", "common", "-"], stdin: Data(data))
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").count > 20)
    }

    @Test("a missing file is one clear line and a non-zero exit, before any output")
    func missingFile() throws {
        let r = try run(bin, ["--dry-run", TestPaths.fixture("nginx/combined.log"), "/nonexistent/access.log"])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("/nonexistent/access.log: No such file or directory"))
    }

    @Test("bad formats and flags are clear errors")
    func badInput() throws {
        let r1 = try run(bin, ["--dry-run", "--format", "nginx:$remote_addr $bogus $request", TestPaths.fixture("nginx/combined.log")])
        #expect(r1.status != 0 && r1.stderr.contains("$bogus"))
        let r2 = try run(bin, ["--dry-run", "--keep", "nothing", TestPaths.fixture("nginx/combined.log")])
        #expect(r2.status != 0 && r2.stderr.contains("nothing"))
        let r3 = try run(bin, ["--dry-run", "--since", "yesterday", TestPaths.fixture("nginx/combined.log")])
        #expect(r3.status != 0 && r3.stderr.contains("--since"))
    }

    @Test("a truncated .gz: error names the file, lines before it are kept, later files still read, exit non-zero")
    func truncatedGzip() throws {
        let log = try Data(contentsOf: URL(fileURLWithPath: TestPaths.root.appendingPathComponent("examples/access.log").path))
        let full = try gzip(Array(log))
        let dir = TestPaths.tempDir()
        let cut = dir.appendingPathComponent("access.log.2.gz").path
        try Data(full.prefix(full.count / 2)).write(to: URL(fileURLWithPath: cut))
        let r = try run(bin, ["--dry-run", TestPaths.fixture("nginx/combined.log"), cut])
        #expect(r.status == 1)
        #expect(r.stderr.contains("access.log.2.gz: gzip data ends early"))
        // The rotated file is read first; its hits and the next file's all arrive.
        #expect(r.stdout.split(separator: "\n").count > 30 + 30)
    }

    @Test("formats lists the built-ins; check reports the match rate and why lines fail")
    func formatsAndCheck() throws {
        let f = try run(bin, ["formats"])
        for format in BuiltinFormats.all { #expect(f.stdout.contains("\n" + format.name + " ")) }
        #expect(f.stdout.hasPrefix("auto "))
        let ok = try run(bin, ["check", "--format", "combined", TestPaths.fixture("apache/combined.log")])
        #expect(ok.stdout.contains("57 of 57 lines match (100.0%)"))
        let bad = try run(bin, ["check", "--format", "combined", TestPaths.fixture("caddy/access.json.log")])
        #expect(bad.status != 0)
        #expect(bad.stdout.contains("0 of 57"))
        #expect(bad.stdout.contains("access.json.log:1: stops matching"))
        let pattern = try run(bin, ["check", "--format", "combined", "--show-pattern"])
        #expect(pattern.stdout.contains("(?<time_local>"))
    }
}
