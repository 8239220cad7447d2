import Foundation
import Testing
@testable import GoatImportCore

/// The follow and timer units set MemoryDenyWriteExecute=yes; PCRE2's JIT needs memory that is
/// writable and executable, so under it the patterns must run on the interpreter. The kernel's
/// own switch for the same rule (prctl PR_SET_MDWE, Linux 6.3+, kept across exec) runs the
/// real binary under it.
@Suite("PCRE2 without JIT (MemoryDenyWriteExecute)")
struct JITFallbackTests {
    let bin = TestPaths.binary
    let example = TestPaths.root.appendingPathComponent("examples/access.log").path
    let env = testEnvironment()

    /// The hits without their visit ids (a dry run's ids differ from run to run).
    func hits(_ stdout: String) -> String {
        stdout.replacingOccurrences(of: #","session":"[0-9a-f]+""#, with: "", options: .regularExpression)
    }

    /// Runs the binary with W+X memory refused; nil where the kernel has no PR_SET_MDWE.
    func runRefusingWX(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String)? {
        let script = """
        import ctypes, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(65, 1, 0, 0, 0) != 0:   # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
            sys.exit(77)
        os.execv(sys.argv[1], sys.argv[1:])
        """
        let r = try run("/usr/bin/env", ["python3", "-c", script, bin] + arguments, environment: env)
        return r.status == 77 ? nil : r
    }

    /// Combined scans without PCRE2 (`PatternScanner`); the vhost form is PCRE2's, here on its
    /// interpreter.
    @Test("with W+X memory refused the same hits come out, and check says the interpreter is in use",
          arguments: [("combined", "examples/access.log"), ("combined-vhost", "Tests/Fixtures/apache/vhost_combined.log")])
    func interpreterFallback(_ format: String, _ file: String) throws {
        let log = TestPaths.root.appendingPathComponent(file).path
        let normal = try run(bin, ["--dry-run", "--format", format, log], environment: env)
        #expect(normal.status == 0)
        guard let refused = try runRefusingWX(["--dry-run", "--format", format, log]) else {
            print("skipped: this kernel has no PR_SET_MDWE")
            return
        }
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(!refused.stdout.isEmpty && hits(refused.stdout) == hits(normal.stdout))
        let check = try #require(try runRefusingWX(["check", "--format", "combined", example]))
        #expect(check.status == 0)
        #expect(check.stdout.contains("PCRE2 JIT unavailable"), "\(check.stdout)")
        #expect(check.stdout.contains("(100.0%)"), "\(check.stdout)")
        let checkNormal = try run(bin, ["check", "--format", "combined", example], environment: env)
        #expect(!checkNormal.stdout.contains("JIT unavailable"), "JIT where it is allowed")
    }
}
