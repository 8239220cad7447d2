import Foundation
import Testing

/// Every numeric option refuses values outside its range when the command line is parsed, with
/// the range in the message: no trap on inf/nan/1e300, no abort allocating a huge line buffer,
/// no run where every request times out at once, and a negative number is read as a number.
struct OptionRangeTests {
    static let cases: [(flag: String, value: String)] = [
        ("--timeout", "inf"), ("--timeout", "nan"), ("--timeout", "1e300"), ("--timeout", "0"), ("--timeout", "-1"),
        ("--session-gap", "1e300"), ("--session-gap", "nan"), ("--session-gap", "-8"),
        ("--max-line-length", "9223372036854775807"), ("--max-line-length", "-5"),
        ("--retry-for", "inf"), ("--retry-for", "-1"), ("--retry-delay", "nan"), ("--retry-delay", "1e300"),
        ("--threads", "-2"), ("--batch-size", "501"),
    ]

    @Test("out-of-range numbers are one line naming the flag and the range", arguments: cases.indices)
    func refused(_ index: Int) throws {
        let (flag, value) = Self.cases[index]
        let r = try run(TestPaths.binary, ["--dry-run", flag, value, TestPaths.root.appendingPathComponent("examples/access.log").path])
        #expect(r.status == 64, "\(flag) \(value): \(r.stderr)")
        #expect(r.stderr.contains("\(flag) ") && r.stderr.contains("must be from"), "\(flag) \(value): \(r.stderr)")
        #expect(!r.stderr.contains("Missing value") && !r.stderr.contains("Fatal error"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("check and verify check theirs too")
    func otherCommands() throws {
        let log = TestPaths.root.appendingPathComponent("examples/access.log").path
        let check = try run(TestPaths.binary, ["check", "--show", "-1", log])
        #expect(check.status == 64 && check.stderr.contains("--show -1: must be from 0"), "\(check.stderr)")
        let verify = try run(TestPaths.binary, ["verify", "--site", "https://stats.example.com", "--since", "2026-11-01",
                                                "--export-timeout", "inf", log], environment: testEnvironment())
        #expect(verify.status == 64 && verify.stderr.contains("--export-timeout inf: must be from"), "\(verify.stderr)")
    }

    @Test("values inside the ranges still run")
    func accepted() throws {
        let r = try run(TestPaths.binary, ["--dry-run", "--timeout", "0.5", "--session-gap", "0.5", "--max-line-length", "4096",
                                           "--retry-for", "0", TestPaths.root.appendingPathComponent("examples/access.log").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.isEmpty)
    }
}
