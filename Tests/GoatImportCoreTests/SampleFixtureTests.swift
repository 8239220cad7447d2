import Foundation
import Testing
@testable import GoatImportCore

/// The documented sample logs in Tests/Fixtures/<format>/ (one per built-in format that cannot be
/// captured here): every line against the hit or skip reason its expected.tsv gives.
struct SampleFixtureTests {
    struct Case: CustomStringConvertible, Sendable {
        let dir: String
        let file: String
        var format: String { dir }
        /// For formats whose times carry no offset.
        var tz = "UTC"
        var path: String { TestPaths.fixture("\(dir)/\(file)") }
        var description: String { dir }
    }

    static let cases: [Case] = [
        Case(dir: "traefik", file: "access.log"),
        Case(dir: "elb", file: "access.log"),
        Case(dir: "alb", file: "access.log"),
        Case(dir: "cloudfront", file: "E2EXAMPLE.2026-11-27-14.abcd1234"),
        Case(dir: "s3", file: "access.log"),
        Case(dir: "w3c", file: "u_ex261127.log"),
        Case(dir: "haproxy", file: "haproxy.log", tz: "Europe/Amsterdam"),
        Case(dir: "bunny", file: "60367.log"),
    ]

    /// One row of expected.tsv: `hit` with the hit's values, or a skip reason's name.
    struct Expectation {
        let line: Int
        let outcome: String
        let values: [String: String]   // path, query, ref, user_agent, ip, created_at, host; absent: "-"

        static func read(_ dir: String) throws -> [Expectation] {
            let text = try String(contentsOfFile: TestPaths.fixture("\(dir)/expected.tsv"), encoding: .utf8)
            let rows = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            let header = rows[0]
            return rows.dropFirst().map { row in
                var values: [String: String] = [:]
                for (i, key) in header.enumerated().dropFirst(2) { values[key] = row[i] }
                return Expectation(line: Int(row[0])!, outcome: row[1], values: values)
            }
        }
    }

    /// The host the builder read for each line (hits do not carry it), with one parser for the
    /// whole file so a W3C parser sees its #Fields: lines.
    static func hosts(_ c: Case) throws -> [Int: String] {
        let format = try LogFormat.resolve(c.format)
        let parser = try format.makeParser()
        let builder = PageviewBuilder(timeZone: try LogTimeZone(c.tz))
        let fields = ParsedFields()
        var pv = Pageview()
        var result: [Int: String] = [:]
        let lines = try String(contentsOfFile: c.path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            let bytes = Array(line.utf8)
            bytes.withUnsafeBufferPointer { b in
                let base = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
                guard parser.parse(base, b.count, into: fields), builder.build(base, fields, into: &pv) == nil, pv.host.isPresent else { return }
                result[i + 1] = String(decoding: b[pv.host.start..<pv.host.end], as: UTF8.self)
            }
        }
        return result
    }

    @Test("every sample line becomes the hit or skip reason expected.tsv gives", arguments: cases)
    func everyLine(_ c: Case) throws {
        let expected = try Expectation.read(c.dir)
        let (sink, summary) = try importFiles([c.path], format: c.format) { $0.timeZone = try LogTimeZone(c.tz) }
        let hosts = try Self.hosts(c)
        #expect(summary.lines == expected.count)
        #expect(expected.contains { $0.outcome == "hit" } && expected.contains { $0.outcome == "error" }, "a sample needs hits and a 404")
        for e in expected {
            if e.outcome == "hit" {
                guard let index = sink.positions.firstIndex(where: { $0.line == e.line }) else {
                    Issue.record("line \(e.line): no hit; skipped as \(sink.skipped.first { $0.position.line == e.line }?.reason.name ?? "nothing")")
                    continue
                }
                let hit = sink.hits[index]
                for key in ["path", "query", "ref", "user_agent", "ip", "created_at"] {
                    let want = e.values[key] == "-" ? nil : e.values[key]
                    #expect(hit[key] as? String == want, "line \(e.line) \(key)")
                }
                let host = e.values["host"] == "-" ? nil : e.values["host"]
                #expect(hosts[e.line] == host, "line \(e.line) host")
            } else {
                let got = sink.skipped.first { $0.position.line == e.line }?.reason.name
                #expect(got == e.outcome, "line \(e.line)")
            }
        }
    }
}
