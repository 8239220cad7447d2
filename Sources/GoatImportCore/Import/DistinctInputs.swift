#if canImport(Glibc)
import Glibc
#endif

/// Each file once per run, however it was named: the same path twice, a symlink beside its
/// target (one inode), or `access.log.1` beside its complete `access.log.1.gz` (one identity)
/// would otherwise be read, and sent, twice.
public enum DistinctInputs {
    /// `paths` (ordered already) without the repeats, and for each one left out, why.
    /// Of two copies with one identity the plain one is read (a `.gz` may still be being
    /// written), else the longer plain one; standard input and files that cannot be opened
    /// are kept as they are (the import reports the latter).
    /// `tooShort`: the kept files without an identity yet (no complete request line).
    public static func of(_ paths: [String]) -> (paths: [String], dropped: [String], tooShort: Set<String>) {
        var kept: [(path: String, file: LogFile?)] = []
        var dropped: [String] = []
        var byInode: [String: Int] = [:]
        var byIdentity: [FileFingerprint: Int] = [:]
        var tooShort: Set<String> = []
        for path in paths {
            guard path != "-", LogFile.isRegularFile(path), let file = try? LogFile(path: path) else {
                kept.append((path, nil))
                continue
            }
            file.finished = !InputOrder.isLive(path)
            let inode = "\(file.device):\(file.inode)"
            if let i = byInode[inode] {
                dropped.append("\(path): the same file as \(kept[i].path): read once")
                continue
            }
            byInode[inode] = kept.count
            guard let id = (try? file.fingerprint()) ?? nil else {
                tooShort.insert(path)
                kept.append((path, file))
                continue
            }
            if let i = byIdentity[id], let other = kept[i].file {
                if other.isGzip && !file.isGzip || !other.isGzip && !file.isGzip && file.size() > other.size() {
                    dropped.append("\(other.path): the same content as \(path): read once, from \(path)")
                    kept[i] = (path, file)
                } else {
                    dropped.append("\(path): the same content as \(other.path): read once")
                }
                continue
            }
            byIdentity[id] = kept.count
            kept.append((path, file))
        }
        return (kept.map(\.path), dropped, tooShort)
    }
}
