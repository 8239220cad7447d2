import Foundation
import Testing
@testable import GoatImportCore

/// `check` says what a matching format drops.
struct UnreadFieldsTests {
    func lines(_ fixture: String) throws -> [[UInt8]] {
        try String(contentsOfFile: TestPaths.fixture(fixture), encoding: .utf8)
            .split(separator: "\n").map { Array($0.utf8) }
    }

    @Test("common on a combined log drops referer and user agent; combined, or common on a common log, drops nothing")
    func commonOnCombined() throws {
        let combinedLines = try lines("apache/combined.log")
        let unread = UnreadFields.find(BuiltinFormats.named("common")!, in: combinedLines)
        #expect(unread?.fields == [.referer, .userAgent])
        #expect(unread?.reader.name == "combined")
        #expect(UnreadFields.find(BuiltinFormats.named("combined")!, in: combinedLines) == nil)
        #expect(UnreadFields.find(BuiltinFormats.named("common")!, in: try lines("apache/common.log")) == nil)
        // A user's own format that reads more than any built-in one is not told to use one.
        let custom = try String(contentsOfFile: TestPaths.fixture("nginx/custom.format"), encoding: .utf8)
        let own = try LogFormat.resolve("nginx:" + custom.trimmingCharacters(in: .newlines))
        #expect(UnreadFields.find(own, in: try lines("nginx/custom.log")) == nil)
    }

    @Test("goatimport check --format common on a combined log says what it drops")
    func checkSaysSo() throws {
        let log = TestPaths.fixture("apache/combined.log")
        let common = try run(TestPaths.binary, ["check", "--format", "common", log])
        #expect(common.status == 0)
        #expect(common.stdout.contains("format common: 57 of 57 lines match (100.0%)\nnote: the lines also carry referer, user_agent, which format combined reads; this format drops them"), "\(common.stdout)")
        let combined = try run(TestPaths.binary, ["check", "--format", "combined", log])
        #expect(!combined.stdout.contains("note:"), "\(combined.stdout)")
    }
}
