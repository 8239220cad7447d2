import Foundation
import Testing
@testable import GoatImportCore

/// `--format auto`: the built-in format that reads a log's first lines best.
struct AutoDetectTests {
    struct Case: CustomStringConvertible, Sendable {
        let file: String
        /// nil: no built-in format reads it (a custom log_format).
        let expected: String?
        var description: String { file }
    }

    static let cases: [Case] = [
        Case(file: "nginx/combined.log", expected: "combined"),
        Case(file: "nginx/vhost.log", expected: "combined-vhost"),
        Case(file: "nginx/custom.log", expected: "combined"),          // combined plus trailing fields
        Case(file: "nginx/iso8601.log", expected: nil),
        Case(file: "nginx/json.log", expected: "nginx-json"),
        Case(file: "apache/combined.log", expected: "combined"),
        Case(file: "apache/common.log", expected: "common"),
        Case(file: "apache/vhost_combined.log", expected: "combined-vhost"),
        Case(file: "apache/custom.log", expected: "combined"),
        Case(file: "caddy/access.json.log", expected: "caddy"),
        Case(file: "caddy/access.console.log", expected: "caddy-console"),
        Case(file: "../../examples/access.log", expected: "combined"),
    ] + SampleFixtureTests.cases.map { Case(file: "\($0.dir)/\($0.file)", expected: $0.format) }

    @Test("auto picks the right built-in format for every fixture", arguments: cases)
    func fixtures(_ c: Case) throws {
        let sample = InputSample.read([TestPaths.fixture(c.file)])
        #expect(sample.lines.count >= 6)
        let result = FormatDetector.detect(sample.lines)
        #expect(result.format?.name == c.expected, "\(result.explanation)")
        if c.expected != nil {
            // The choice reads at least most of the lines; the runner-up reads fewer, or as many with fewer fields.
            let best = result.scores[0], next = result.scores[1]
            #expect(best.matched * 2 > result.sampled)
            #expect(best.matched > next.matched || best.fields >= next.fields)
        }
    }

    @Test("ties: more fields win (combined over common), then more of the line (traefik over combined)")
    func tieBreaks() throws {
        let apache = FormatDetector.detect(InputSample.read([TestPaths.fixture("apache/combined.log")]).lines)
        let common = try #require(apache.scores.first { $0.format.name == "common" })
        #expect(common.matched == apache.scores[0].matched)
        #expect(common.fields < apache.scores[0].fields)
        let traefik = FormatDetector.detect(InputSample.read([TestPaths.fixture("traefik/access.log")]).lines)
        #expect(traefik.explanation == "traefik (7/7 lines, 7 fields; next: combined 7/7)")
    }

    @Test("a sample is at most 50 lines that are not directives, read across inputs when the first is short")
    func sampleSize() throws {
        let long = InputSample.read([TestPaths.fixture("nginx/combined.log")])
        #expect(long.lines.count == 50)
        let short = TestPaths.tempDir().appendingPathComponent("short.log")
        try Data((combined(path: "/a") + "\n").utf8).write(to: short)
        let across = InputSample.read([short.path, TestPaths.fixture("nginx/combined.log")])
        #expect(across.lines.count == 50)
        #expect(across.inputs.count == 2)
        let w3c = InputSample.read([TestPaths.fixture("w3c/u_ex261127.log")])
        #expect(w3c.lines.count == 15, "eight directive lines come along uncounted")
    }

    @Test("nothing matches: no format, and an error that points at check and custom formats")
    func noMatch() throws {
        let result = FormatDetector.detect([Array("hello world".utf8), Array("{\"not\":\"a log\"}".utf8)])
        #expect(result.format == nil)
        #expect(result.sampled == 2)
        let message = FormatError.noFormatMatches(lines: 2, input: "x.log").description
        #expect(message.contains("goatimport check --format NAME x.log"))
        #expect(message.contains("nginx:'<log_format>'"))
    }
}

/// The binary without --format.
struct AutoDetectCommandLineTests {
    let bin = TestPaths.binary

    @Test("import and dry-run choose the format and say why on stderr")
    func dryRun() throws {
        let r = try run(bin, ["--dry-run", TestPaths.fixture("traefik/access.log")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("goatimport: format: auto chose traefik (7/7 lines, 7 fields; next: combined 7/7)"))
        #expect(r.stdout.split(separator: "\n").count == 3)
    }

    @Test("standard input: the lines read to choose are imported too, gzip or not")
    func stdin() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("w3c/u_ex261127.log")))
        let fromFile = try run(bin, ["--dry-run", "--sessions", "off", "--format", "w3c", TestPaths.fixture("w3c/u_ex261127.log")])
        for input in [data, Data(try gzip(Array(data)))] {
            let r = try run(bin, ["--dry-run", "--sessions", "off", "-"], stdin: input)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("format: auto chose w3c"))
            #expect(r.stdout == fromFile.stdout)
            #expect(r.stderr.contains("15 lines read"))
        }
        let big = try Data(contentsOf: URL(fileURLWithPath: TestPaths.root.appendingPathComponent("examples/access.log").path))
        let all = try run(bin, ["--dry-run", "--sessions", "off", "--format", "combined", "-"], stdin: big)
        let auto = try run(bin, ["--dry-run", "--sessions", "off", "-"], stdin: big)
        #expect(auto.stdout == all.stdout, "lines past the sample follow the sampled ones")
    }

    @Test("check without --format reports the choice, then the match rate")
    func check() throws {
        let r = try run(bin, ["check", TestPaths.fixture("cloudfront/E2EXAMPLE.2026-11-27-14.abcd1234")])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("format: auto chose cloudfront (") == true, "\(r.stdout)")
        #expect(lines.last == "format cloudfront: 7 of 7 lines match (100.0%); 2 directive lines (#…) skipped")
    }

    @Test("no built-in format fits: exit 1 with the way out, nothing imported")
    func noMatch() throws {
        let r = try run(bin, ["--dry-run", TestPaths.fixture("nginx/iso8601.log")])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("no built-in format reads any of the first 50 lines of"))
        #expect(r.stderr.contains("goatimport check --format NAME"))
        let c = try run(bin, ["check", TestPaths.fixture("nginx/iso8601.log")])
        #expect(c.status == 1)
        #expect(c.stderr.contains("goatimport check --format NAME"))
    }
}
