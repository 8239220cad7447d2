import Foundation
import Testing
@testable import GoatImportCore

/// What goatimport prints is safe for a terminal and depends on its input only.
struct OutputSafetyTests {
    let dir = TestPaths.tempDir()

    /// A line a visitor can write: an escape sequence that would recolour the terminal, a BEL,
    /// a C1 control (U+009B, CSI in one character) and a DEL, in a line the format does not match.
    static let hostile = "203.0.113.9 - - [01/Nov/2026:10:00:00 +0000] \"GET /\u{1b}[31mred\u{07}\u{9b}2J\u{7f} HTTP/1.1\" xx\n"

    func hostileLog() throws -> String {
        let path = dir.appendingPathComponent("hostile.log").path
        try Data((CheckpointRunTests.lines(0..<3) + Self.hostile).utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func hasControl(_ s: String) -> Bool {
        s.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
    }

    @Test("-v and check print a line's control bytes escaped")
    func controlBytesEscaped() throws {
        let log = try hostileLog()
        let verbose = try run(TestPaths.binary, ["--dry-run", "--format", "combined", "-v", log])
        #expect(verbose.stderr.contains("hostile.log:4"), "\(verbose.stderr)")
        #expect(verbose.stderr.contains("\\x1B[31mred\\x07\\u{9B}2J\\x7F"), "\(verbose.stderr)")
        #expect(!Self.hasControl(verbose.stderr))
        let check = try run(TestPaths.binary, ["check", "--format", "combined", log])
        #expect(check.stdout.contains("\\x1B[31m"), "\(check.stdout)")
        #expect(!Self.hasControl(check.stdout + check.stderr))
        #expect(PrintableText.escaping("a\tb\u{85}c\\x22") == "a\\x09b\\u{85}c\\x22")
    }

    @Test("a dry run prints the same visits whether or not a secret exists, plain or gzipped")
    func dryRunDeterministic() throws {
        let example = TestPaths.root.appendingPathComponent("examples/access.log").path
        let gz = dir.appendingPathComponent("access.log.gz").path
        try Data(try gzip(Array(try Data(contentsOf: URL(fileURLWithPath: example))))).write(to: URL(fileURLWithPath: gz))
        var fresh = testEnvironment()
        let first = try run(TestPaths.binary, ["--dry-run", example], environment: fresh)
        #expect(first.status == 0 && first.stdout.contains("\"session\":\""))
        #expect(try run(TestPaths.binary, ["--dry-run", gz], environment: fresh).stdout == first.stdout)
        // A secret appears (a real run made one): the dry run's output does not change.
        let stateHome = fresh["XDG_STATE_HOME"]!
        try FileManager.default.createDirectory(atPath: stateHome + "/goatimport", withIntermediateDirectories: true)
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: stateHome + "/goatimport/session-secret"))
        #expect(try run(TestPaths.binary, ["--dry-run", example], environment: fresh).stdout == first.stdout)
        fresh["XDG_STATE_HOME"] = TestPaths.tempDir().path
        #expect(try run(TestPaths.binary, ["--dry-run", "--threads", "1", example], environment: fresh).stdout == first.stdout)
    }
}
