import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file atomically, mode 0600: a temporary file in the same directory, fsync, rename.
/// The temporary is `.<name>.XXXXXX`; one left by a kill between create and rename is removed
/// by `removeStale` when the next run holds the state lock.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, durable: Bool = true) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        let (fd, temp) = try createTemporary(for: path)
        var ok = false
        defer { if !ok { unlink(temp) } }
        let written = data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return !durable || fsync(fd) == 0
        }
        let e = errno
        guard close(fd) == 0, written else { throw SystemError(errno: written ? errno : e, context: temp) }
        guard rename(temp, path) == 0 else { throw SystemError(errno: errno, context: path) }
        ok = true
        if durable {
            let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        }
    }

    /// A new temporary file beside `path` (mkstemp: 0600, a name no other writer has).
    static func createTemporary(for path: String) throws -> (fd: Int32, path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        var template = Array("\(dir.isEmpty ? "." : dir)/.\(name).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw SystemError(errno: errno, context: dir.isEmpty ? "." : dir) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return (fd, String(cString: template))
    }

    /// Removes the temporaries of `paths` that a killed writer left. Only safe while no other
    /// process may be writing them: call it holding the state lock.
    public static func removeStale(of paths: [String]) {
        for path in paths {
            let dir = (path as NSString).deletingLastPathComponent
            let prefix = "." + (path as NSString).lastPathComponent + "."
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { continue }
            for name in names where name.hasPrefix(prefix) && name.utf8.count == prefix.utf8.count + 6 {
                unlink((dir.isEmpty ? "." : dir) + "/" + name)
            }
        }
    }
}
