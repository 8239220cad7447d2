import Testing
@testable import GoatImportCore

/// Every printed count goes through `counted`: one grouping, the noun in agreement.
struct CountedTests {
    @Test("one of a thing is singular, any other count plural and grouped by thousands")
    func forms() {
        #expect(counted(1, "request") == "1 request")
        #expect(counted(0, "request") == "0 requests")
        #expect(counted(1234, "day") == "1,234 days")
        #expect(counted(-1000, "hit") == "-1,000 hits")
        #expect(counted(2, "path/day pair") == "2 path/day pairs")
        #expect(noun(1, "entry", "entries") == "entry" && noun(3, "entry", "entries") == "entries")
    }

    @Test("the import summary of one line from one input says line, input, hit in the singular")
    func summarySingular() {
        var summary = ImportSummary()
        summary.files = 1; summary.lines = 1; summary.hits = 1; summary[.bot] = 1
        summary.siteHits = ["https://a.example": 1]
        let text = summary.render()
        #expect(text.hasPrefix("1 line read from 1 input ("), "\(text)")
        #expect(text.contains("\n1 hit\n"), "\(text)")
        #expect(text.contains("\n1 line skipped:"), "\(text)")
        #expect(text.contains(" 1 hit for https://a.example"), "\(text)")
        summary.lines = 1500; summary.files = 2
        #expect(summary.render().hasPrefix("1,500 lines read from 2 inputs ("))
    }

    @Test("errors naming one unknown variable or group say it in the singular")
    func errorsSingular() {
        #expect(FormatError.unknownVariables(kind: "nginx", ["$x"]).description == "unknown nginx variable in format: $x")
        #expect(FormatError.unknownGroups(["a"], known: ["path"]).description.hasPrefix("unknown group name in pattern: a;"))
        #expect(FormatError.noFormatMatches(lines: 1, input: "x.log").description.contains("any of the first 1 line of x.log"))
    }
}
