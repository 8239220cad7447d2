import Foundation
import Testing
@testable import GoatImportCore

/// W3C extended logs: the columns follow the #Fields: lines of the log itself.
struct W3CTests {
    let ua = "Mozilla/5.0+(X11;+Linux+x86_64;+rv:132.0)+Gecko/20100101+Firefox/132.0"

    @Test("a second #Fields: line mid-file re-maps the columns; directives are counted apart")
    func headerSwitch() throws {
        let (sink, summary) = try importLines([
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)",
            "2026-11-27 14:58:10 203.0.113.1 GET /first 200 \(ua)",
            "#Fields: cs(User-Agent) sc-status cs-uri-stem cs-method c-ip time date cs-uri-query",
            "\(ua) 200 /second GET 203.0.113.2 14:58:11 2026-11-27 a=1",
        ], format: "w3c")
        #expect(sink.hits.map { $0["path"] as? String } == ["/first", "/second?a=1"])
        #expect(sink.hits.map { $0["ip"] as? String } == ["203.0.113.1", "203.0.113.2"])
        #expect(sink.hits.map { $0["created_at"] as? String } == ["2026-11-27T14:58:10Z", "2026-11-27T14:58:11Z"])
        #expect(sink.hits.first?["user_agent"] as? String == "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0")
        #expect(summary[.directive] == 2)
        #expect(summary[.malformed] == 0)
    }

    @Test("before any #Fields: line the columns are IIS's defaults; a line short of columns is malformed")
    func iisDefaults() throws {
        let (sink, summary) = try importLines([
            "2026-11-27 14:58:10 10.0.0.4 GET /page q=1 443 - 203.0.113.10 \(ua) - 200 0 0 15",
            "2026-11-27 14:58:11 10.0.0.4 GET /short",
        ], format: "w3c")
        #expect(sink.hits.map { $0["path"] as? String } == ["/page?q=1"])
        #expect(sink.hits.first?["ip"] as? String == "203.0.113.10")
        #expect(summary[.malformed] == 1)
    }

    @Test("without a cs(User-Agent) column, no line counts as a bot for lacking one")
    func noUserAgentColumn() throws {
        let (sink, summary) = try importLines([
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status",
            "2026-11-27 14:58:10 203.0.113.1 GET /a 200",
        ], format: "w3c")
        #expect(sink.hits.count == 1)
        #expect(summary[.bot] == 0)
        let withColumn = try importLines([
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)",
            "2026-11-27 14:58:10 203.0.113.1 GET /a 200 -",
        ], format: "w3c")
        #expect(withColumn.summary[.bot] == 1, "a '-' user agent where the column exists is a script")
    }

    @Test("resuming at a checkpoint below the second #Fields: line still reads its columns")
    func resumeAfterHeader() throws {
        let path = TestPaths.fixture("w3c/u_ex261127.log")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        // Up to and including line 13 (the bot line of the second block).
        let offset = lines.prefix(13).reduce(0) { $0 + $1.utf8.count + 1 }
        let (sink, summary) = try importFiles([path], format: "w3c") {
            $0.checkpoints = try checkpointStore(resuming: path, at: Int64(offset), line: 13)
        }
        #expect(summary.lines == 2)
        #expect(sink.hits.map { $0["path"] as? String } == ["/about/", "/search?q=goat+counter&page=2"])
        #expect(sink.hits.map { $0["ip"] as? String } == ["198.51.100.23", "203.0.113.7"])
        #expect(sink.positions.map(\.line) == [14, 15])
    }
}
