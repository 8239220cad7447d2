/// Orders a rotated set oldest first, whatever order the shell expanded the glob in:
/// `access.log.10.gz access.log.2.gz access.log.1 access.log` and dated names
/// (`access.log-20261101.gz`, logrotate's `dateext`; the kubelet's `0.log.20261101-120000.gz`). Unrelated files keep their relative order.
public enum InputOrder {
    struct Key {
        let base: String
        let generation: Int   // rotation number: higher is older; 0 is the live file
        let date: String      // dateext suffix: earlier is older; "" is the live file
    }

    static func key(_ path: String) -> Key {
        var name = path
        for ext in [".gz", ".bz2", ".xz", ".zst"] where name.hasSuffix(ext) { name = String(name.dropLast(ext.count)) }
        // access.log.3
        if let dot = name.lastIndex(of: "."), let n = Int(name[name.index(after: dot)...]), n >= 0, n < 100_000 {
            return Key(base: String(name[..<dot]), generation: n, date: "")
        }
        // the kubelet's 0.log.20261101-120000
        if let dot = name.lastIndex(of: ".") {
            let suffix = name[name.index(after: dot)...]
            if suffix.count == 15, suffix.filter({ $0 != "-" }).allSatisfy(\.isNumber), suffix.dropFirst(8).first == "-" {
                return Key(base: String(name[..<dot]), generation: 0, date: String(suffix.filter { $0 != "-" }))
            }
        }
        // access.log-20261101 or access.log-2026-11-01
        if let dash = name.lastIndex(of: "-") {
            let suffix = name[name.index(after: dash)...]
            let digits = suffix.filter { $0 != "-" }
            if digits.count >= 8, digits.allSatisfy(\.isNumber), suffix.first?.isNumber == true {
                return Key(base: String(name[..<dash]), generation: 0, date: String(digits))
            }
        }
        return Key(base: name, generation: 0, date: "")
    }

    /// Whether a server may still be writing `path`: not standard input, not compressed, not a
    /// rotated name (`access.log.1`, `access.log-20261101`).
    public static func isLive(_ path: String) -> Bool {
        guard path != "-", ![".gz", ".bz2", ".xz", ".zst"].contains(where: path.hasSuffix) else { return false }
        let k = key(path)
        return k.generation == 0 && k.date.isEmpty && k.base == path
    }

    public static func sorted(_ paths: [String]) -> [String] {
        let keys = paths.map(key)
        var groups: [String: [Int]] = [:]
        var firstSeen: [String] = []
        for (i, k) in keys.enumerated() {
            if groups[k.base] == nil { firstSeen.append(k.base) }
            groups[k.base, default: []].append(i)
        }
        // stdin stays where it was given, relative to whole groups.
        var result: [String] = []
        for base in firstSeen {
            let members = groups[base]!.sorted { a, b in
                let ka = keys[a], kb = keys[b]
                if ka.date != kb.date {
                    if ka.date.isEmpty { return false }
                    if kb.date.isEmpty { return true }
                    return ka.date < kb.date
                }
                if ka.generation != kb.generation { return ka.generation > kb.generation }
                return a < b
            }
            result += members.map { paths[$0] }
        }
        return result
    }
}
