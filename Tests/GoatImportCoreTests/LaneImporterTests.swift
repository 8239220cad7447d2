import Foundation
import Testing
@testable import GoatImportCore

/// Parse lanes must write exactly what one thread writes: same hits in the same order, same
/// visits, same counts, same messages with the same line numbers.
@Suite struct LaneImporterTests {
    struct Result: Equatable {
        var output: String
        var lines, hits, bytes: Int
        var skipped: [Int]
        var clipped: Int
        var malformed: [String]
        var inputErrors: [String]
    }

    final class Messages: @unchecked Sendable {
        var list: [String] = []
        let lock = NSLock()
        func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    }

    func run(_ inputs: [String], lanes: Int?, blockSize: Int, maxLineLength: Int, secret: [UInt8]) throws -> Result {
        var options = Importer.Options(format: try LogFormat.resolve("combined"))
        options.maxLineLength = maxLineLength
        options.sessions = SessionTracker(secret: secret)
        let messages = Messages()
        options.onMalformed = { file, line, reason, _ in messages.add("\((file as NSString).lastPathComponent):\(line): \(reason)") }
        let out = TestPaths.tempDir().appendingPathComponent("out").path
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let summary: ImportSummary
        if let lanes {
            summary = try LaneImporter(options: options, lanes: lanes, blockSize: blockSize).run(inputs: inputs, fd: fd)
        } else {
            summary = try Importer(options: options).run(inputs: inputs, into: NDJSONSink(fd: fd))
        }
        return Result(output: try String(contentsOfFile: out, encoding: .utf8), lines: summary.lines, hits: summary.hits,
                      bytes: Int(summary.bytes), skipped: summary.skipped, clipped: summary.clipped.total,
                      malformed: messages.list, inputErrors: summary.inputErrors)
    }

    /// Lines of every kind, including over-long ones (some longer than a block), CRLF, and
    /// lines the format does not match; `partialEnd` leaves the last line without its newline.
    static func mixedLog(_ rng: inout FollowRNG, lines: Int, partialEnd: Bool) -> String {
        var out = ""
        for i in 0..<lines {
            let ip = "198.51.100.\(rng.next() % 40)"
            let ua = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0", "curl/8.5.0", "Mozilla/5.0 (Mac) Safari/605"][Int(rng.next() % 3)]
            let path = ["/a", "/b?x=1", "/style.css", "/p/\(i)"][Int(rng.next() % 4)]
            let t = String(format: "%02d:%02d:%02d", 10 + i / 3600, i / 60 % 60, i % 60)
            switch rng.next() % 10 {
            case 0: out += "not a log line \(i)\n"
            case 1: out += "\(ip) - - [01/Nov/2026:\(t) +0000] \"GET /\(String(repeating: "x", count: 150 + Int(rng.next() % 900))) HTTP/1.1\" 200 1 \"-\" \"\(ua)\"\n"
            case 2: out += "\(ip) - - [01/Nov/2026:\(t) +0000] \"GET \(path) HTTP/1.1\" 200 1 \"-\" \"\(ua)\"\r\n"
            default: out += "\(ip) - - [01/Nov/2026:\(t) +0000] \"GET \(path) HTTP/1.1\" 200 1 \"https://r.example/\" \"\(ua)\"\n"
            }
        }
        if partialEnd { out.removeLast() }
        return out
    }

    @Test("lanes write what one thread writes, whatever the block size and number of lanes")
    func sameAsOneThread() throws {
        let dir = TestPaths.tempDir()
        var rng = FollowRNG(seed: 7)
        let a = dir.appendingPathComponent("a.log").path
        let b = dir.appendingPathComponent("b.log").path
        let c = dir.appendingPathComponent("c.log").path
        try Self.mixedLog(&rng, lines: 400, partialEnd: false).write(toFile: a, atomically: true, encoding: .utf8)
        try Self.mixedLog(&rng, lines: 300, partialEnd: true).write(toFile: b, atomically: true, encoding: .utf8)
        try Self.mixedLog(&rng, lines: 200, partialEnd: false).write(toFile: c, atomically: true, encoding: .utf8)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        gzip.arguments = ["-n", c]
        try gzip.run()
        gzip.waitUntilExit()
        // A truncated copy: lines decoded before the damage are kept, the error is reported.
        let gz = try Data(contentsOf: URL(fileURLWithPath: c + ".gz"))
        let cut = dir.appendingPathComponent("d.log.gz").path
        try gz.prefix(gz.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
        let inputs = [a, b, c + ".gz", cut, dir.appendingPathComponent("missing.log").path]
        let secret = [UInt8](repeating: 7, count: 32)
        let one = try run(inputs, lanes: nil, blockSize: 0, maxLineLength: 600, secret: secret)
        #expect(one.hits > 300)
        #expect(one.skipped[SkipReason.tooLong.rawValue] > 20)
        #expect(one.skipped[SkipReason.malformed.rawValue] > 50)
        #expect(one.inputErrors.count == 2)
        for (lanes, block) in [(1, 1300), (2, 1300), (3, 1400), (2, 4096), (4, 20_000), (2, 512 * 1024)] {
            let many = try run(inputs, lanes: lanes, blockSize: block, maxLineLength: 600, secret: secret)
            #expect(many.output == one.output, "lanes \(lanes), block \(block)")
            #expect(many.malformed == one.malformed, "lanes \(lanes), block \(block)")
            var a = many, b = one
            a.output = ""; b.output = ""
            #expect(a == b, "lanes \(lanes), block \(block)")
        }
    }
}
