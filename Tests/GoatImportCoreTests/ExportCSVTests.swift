import Foundation
import Testing
@testable import GoatImportCore

/// The `goatcounter-csv` input format's pieces: records that span lines, CSV fields, and a row
/// of the real export (Tests/Fixtures/goatcounter-export) as the hit that records it again.
struct ExportCSVTests {
    static let csvPath = TestPaths.fixture("goatcounter-export/goatcounter-2.4.1-export.csv")
    static let gzPath = TestPaths.fixture("goatcounter-export/goatcounter-2.4.1-export.csv.gz")

    /// The real export's rows, read by Python's csv module (an independent reader).
    static func fixtureRows() throws -> [[String]] {
        let script = "import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='')))))"
        let r = try run("/usr/bin/env", ["python3", "-c", script, csvPath])
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String]]
    }

    static func posted() throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("goatcounter-export/goatcounter-2.4.1-export.posted.json")))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["hits"] as! [[String: Any]]
    }

    func records(_ text: String, readSize: Int = 7, max: Int = 1000) throws -> [(text: String, first: Int, number: Int, end: Int64)] {
        let reader = CSVRecordReader(lines: LineReader(source: MemorySource(Data(text.utf8), name: "t"), readSize: readSize,
                                                       maxLineLength: 64), maxRecordLength: max)
        var out: [(String, Int, Int, Int64)] = []
        while let r = try reader.next() {
            out.append((String(decoding: UnsafeBufferPointer(start: r.base, count: r.count), as: UTF8.self), reader.firstLine, r.number, r.endOffset))
        }
        return out
    }

    @Test("a quoted line break joins lines into one record; its end offset and number are its last line's")
    func recordsSpanLines() throws {
        let text = "a,b\n\"x\ny\",\"\"\"q\"\"\nz\"\nlast,1\n"
        let got = try records(text)
        #expect(got.map(\.text) == ["a,b", "\"x\ny\",\"\"\"q\"\"\nz\"", "last,1"])
        #expect(got.map(\.first) == [1, 2, 5])
        #expect(got.map(\.number) == [1, 4, 5])
        // Every end offset is just past a record's newline: a checkpoint never splits a row.
        #expect(got.map(\.end) == [4, Int64(text.utf8.count - 7), Int64(text.utf8.count)])
    }

    @Test("a quote that never closes stops at the record cap instead of swallowing the file")
    func unclosedQuote() throws {
        let text = "\"open\n" + String(repeating: "x\n", count: 40) + "after\n"
        let got = try records(text, max: 20)
        #expect(got.count > 1, "the rest of the file is read again as records")
        #expect(got.last?.text == "after")
        let fields = CSVFields()
        #expect(fields.split(got[0].text, got[0].text.utf8.count) == "a quoted field is not closed")
    }

    @Test("fields: quotes, doubled quotes, commas and newlines inside; strict like Go's reader")
    func fields() {
        let f = CSVFields()
        let line = "plain,\"a,b\",\"say \"\"hi\"\"\",,\"x\ny\""
        #expect(f.split(line, line.utf8.count) == nil)
        #expect((0..<f.count).map(f.string) == ["plain", "a,b", "say \"hi\"", "", "x\ny"])
        #expect(f.split("a\"b,c", 5) == "a quote inside an unquoted field")
        #expect(f.split("\"a\"b,c", 6) == "text after a quoted field's closing quote")
        #expect(f.split("", 0) == nil && f.count == 1)
    }

    @Test("the real export: every row becomes the hit that records it again")
    func fixtureRowsToHits() throws {
        let (sink, summary) = try importFiles([Self.gzPath], format: "goatcounter-csv")
        let rows = try Self.fixtureRows().dropFirst()
        let posted = try Self.posted()
        #expect(summary.hits == 120 && rows.count == 120 && summary[.directive] == 1 && summary[.malformed] == 0)
        for (i, (row, hit)) in zip(rows, sink.hits).enumerated() {
            let sent = hit
            let original = posted[i]
            #expect(sent["path"] as? String == row[0], "row \(i)")
            #expect(sent["title"] as? String ?? "" == original["title"] as! String, "row \(i): title with commas, quotes, a line break")
            #expect((sent["event"] as? Bool ?? false) == (original["event"] as! Bool))
            #expect(sent["user_agent"] as? String == original["user_agent"] as? String)
            #expect(sent["created_at"] as? String == original["created_at"] as? String)
            #expect(sent["session"] as? String == row[6])
            #expect(sent["location"] as? String ?? "" == row[11])
            #expect(sent["size"] as? String ?? "" == original["size"] as! String, "a string, as the real server takes it")
            // The referrer is sent so the server files it under the same name and scheme.
            switch row[9] {
            case "c": #expect(sent["query"] as? String == "?utm_source=\(row[8])" && sent["ref"] == nil)
            case "h": #expect(sent["ref"] as? String == "https://" + row[8])
            case "o": #expect(sent["ref"] as? String == "android-app://" + row[8])
            default: #expect(row[8].isEmpty && sent["ref"] == nil && sent["query"] == nil)
            }
        }
    }

    @Test("auto picks goatcounter-csv by its header, plain, gzipped or on stdin")
    func autoDetect() throws {
        for args in [[Self.csvPath], [Self.gzPath]] {
            let r = try run(TestPaths.binary, ["--dry-run"] + args)
            #expect(r.status == 0)
            #expect(r.stderr.contains("auto chose goatcounter-csv (its header line"), "\(r.stderr)")
            #expect(r.stdout.split(separator: "\n").count == 120)
        }
        let piped = try run(TestPaths.binary, ["--dry-run", "-"], stdin: try Data(contentsOf: URL(fileURLWithPath: Self.gzPath)))
        #expect(piped.stdout.split(separator: "\n").count == 120, "\(piped.stderr)")
        let formats = try run(TestPaths.binary, ["formats"])
        #expect(formats.stdout.contains("goatcounter-csv"))
    }

    @Test("bad rows are reported with file and line, the rest goes on; another export version is refused by name")
    func badRows() throws {
        let dir = TestPaths.tempDir()
        let header = "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date\n"
        let good = "/a,,0,,,,s1,0,,,,,1,2026-11-27T14:16:13Z\n"
        let text = header + good + "/b,\"two\nlines\",0,,,,s2,0,,,,,1,yesterday\n" + "/c,x\"y,0\n" + "/d,,0,,,,s3,0,,,\"1,x\",,1,2026-11-27T14:16:13Z\n" + good
        let file = dir.appendingPathComponent("export.csv").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run(TestPaths.binary, ["--dry-run", "--verbose", file])
        #expect(r.stdout.split(separator: "\n").count == 2)
        #expect(r.stderr.contains("\(file):3: Date \"yesterday\" is not an RFC 3339 time"), "\(r.stderr)")
        #expect(r.stderr.contains("\(file):5: a quote inside an unquoted field"))
        #expect(r.stderr.contains("\(file):6: Screen size \"1,x\" is not width,height,scale"))
        let v3 = dir.appendingPathComponent("v3.csv").path
        try ("3Path,Title\n" + good).write(toFile: v3, atomically: true, encoding: .utf8)
        let refused = try run(TestPaths.binary, ["--dry-run", "--format", "goatcounter-csv", v3, file])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("v3.csv: export format version 3"), "\(refused.stderr)")
        #expect(refused.stdout.split(separator: "\n").count == 2, "the next file is still read")
    }
}
