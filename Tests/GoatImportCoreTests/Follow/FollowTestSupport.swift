import Foundation
import Testing
@testable import GoatImportCore
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory, removed when the value goes away.
final class FollowTempDir {
    let path: String

    init() {
        var template = Array("\(NSTemporaryDirectory())/goatimport-follow-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) {
        FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8))
    }

    func append(_ name: String, _ text: String) {
        let fd = open(file(name), O_WRONLY | O_APPEND | O_CREAT, 0o644)
        precondition(fd >= 0)
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress!, $0.count - 1) }
        close(fd)
    }

    /// The rotated files of `base` (`access.log.N`, `access.log.N.gz`), oldest first.
    func rotated(of base: String = "access.log") -> [(gen: Int, name: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix(base + ".") else { return nil }
            let rest = name.dropFirst(base.count + 1)
            return Int(rest.hasSuffix(".gz") ? rest.dropLast(3) : rest).map { ($0, name) }
        }.sorted { $0.gen > $1.gen }
    }

    /// logrotate's (and Docker's) renaming: `base.N` becomes `base.N+1`, oldest first.
    func shiftRotated(of base: String = "access.log") throws {
        for (gen, name) in rotated(of: base) {
            let to = name.replacingOccurrences(of: "\(base).\(gen)", with: "\(base).\(gen + 1)")
            try FileManager.default.moveItem(atPath: file(name), toPath: file(to))
        }
    }

    /// `gzip -n name`: replaces `name` with `name.gz`.
    func gzip(_ name: String, keep: Bool = false) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        p.arguments = (keep ? ["-k", "-n"] : ["-n"]) + [file(name)]
        try! p.run()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0, "gzip failed")
    }
}

/// A clock the test moves by hand, for the grace period.
final class FollowClock {
    var now: Double = 1000
}

/// Deterministic RNG (SplitMix64) so every model sequence is reproducible from its seed.
struct FollowRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func followText(_ line: FileFollower.FollowedLine) -> String {
    String(decoding: line.bytes, as: UTF8.self)
}

/// Reads everything available now.
func pumpAll(_ follower: FileFollower, _ body: (FileFollower.FollowedLine) throws -> Void = { _ in }) throws {
    while let line = try follower.next(timeout: 0) { try body(line) }
}
