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

    /// Every file here as `name:inode/size`, by name: what a model prints to trace a seed.
    func listing() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { name in
            var st = stat()
            _ = stat(file(name), &st)
            return "\(name):\(st.st_ino)/\(st.st_size)"
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

/// The server's side of a model's live log: its descriptor (on the live file, or on the renamed
/// one until it reopens) and whether the file it writes to has a complete line yet (until then
/// nothing tells a reader that a copytruncated file is not the one it opened, and a rotated
/// file has no identity to resume by).
final class ModelLogWriter {
    let live: String
    private var fd: Int32
    private(set) var onLive = true
    private(set) var fileHasLine = false

    /// Creates `live` empty and opens it.
    init(live: String) {
        self.live = live
        FileManager.default.createFile(atPath: live, contents: Data())
        fd = open(live, O_WRONLY | O_APPEND)
    }

    deinit { close(fd) }

    /// Writes `bytes` as they are; a write that ends a line leaves the file with a complete one.
    func write(_ bytes: [UInt8]) {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
        precondition(n == bytes.count)
        if bytes.last == 0x0A { fileHasLine = true }
    }

    /// Rename rotation: the live file becomes `rotated`, an empty one takes its place
    /// (logrotate's `create`), and the server writes to the renamed one until it reopens.
    func renameRotate(to rotated: String) throws {
        try FileManager.default.moveItem(atPath: live, toPath: rotated)
        FileManager.default.createFile(atPath: live, contents: Data())
        onLive = false
    }

    func reopen() {
        close(fd)
        fd = open(live, O_WRONLY | O_APPEND)
        onLive = true
        var st = stat()
        fileHasLine = stat(live, &st) == 0 && st.st_size > 0
    }

    /// copytruncate: the live file copied to `rotated`, then truncated under the server.
    func copyTruncate(to rotated: String) throws {
        try FileManager.default.copyItem(atPath: live, toPath: rotated)
        precondition(ftruncate(fd, 0) == 0)
        fileHasLine = false
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
