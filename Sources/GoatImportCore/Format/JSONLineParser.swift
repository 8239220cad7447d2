#if canImport(Glibc)
import Glibc
#endif
/// A format whose lines are JSON objects (Caddy, nginx `escape=json`): fields are read from
/// key paths such as `request.headers.User-Agent`.
///
/// A small scanner walks the bytes once and records the spans of the wanted values; it does not
/// build objects, so the cost is close to a memchr over the line. For a field with several
/// paths (Caddy's `client_ip`, then `remote_ip`), the earliest path listed that is present wins.
/// A header value that is an array (`"User-Agent":["…"]`) yields its first element.
public final class JSONLineParser: LineParser {
    public let escapes: EscapeStyle = .json
    public let mapping: [(field: LogField, paths: [[String]])]
    public let hasUserAgentField: Bool
    public private(set) var matchEnd = 0

    private final class Node {
        var children: [(key: [UInt8], node: Node)] = []
        var leaves: [(field: LogField, priority: Int)] = []
        func child(_ key: [UInt8]) -> Node {
            if let existing = children.first(where: { $0.key == key }) { return existing.node }
            let node = Node()
            children.append((key, node))
            return node
        }
    }

    private let root = Node()
    private var priorities = [Int](repeating: .max, count: LogField.count)

    public init(mapping: [(field: LogField, paths: [[String]])]) {
        self.mapping = mapping
        hasUserAgentField = mapping.contains { $0.field == .userAgent }
        for (field, paths) in mapping {
            for (priority, path) in paths.enumerated() {
                var node = root
                for key in path { node = node.child(Array(key.lowercased().utf8)) }
                node.leaves.append((field, priority))
            }
        }
    }

    public func parse(_ line: UnsafePointer<UInt8>, _ count: Int, into fields: ParsedFields) -> Bool {
        fields.clear()
        return parse(line, count, from: 0, into: fields)
    }

    /// Reads the object that starts at `offset` (after a text prefix), adding to `fields`
    /// without clearing them; spans stay relative to `line`.
    func parse(_ line: UnsafePointer<UInt8>, _ count: Int, from offset: Int, into fields: ParsedFields) -> Bool {
        for i in 0..<priorities.count { priorities[i] = .max }
        var scanner = Scanner(base: line, end: count)
        scanner.i = offset
        scanner.skipSpace()
        guard scanner.peek == UInt8(ascii: "{") else { return false }
        guard scanObject(&scanner, root, fields) else { return false }
        matchEnd = scanner.i
        return true
    }

    private func scanObject(_ s: inout Scanner, _ node: Node?, _ fields: ParsedFields) -> Bool {
        guard s.consume(UInt8(ascii: "{")) else { return false }
        s.skipSpace()
        if s.consume(UInt8(ascii: "}")) { return true }
        while true {
            s.skipSpace()
            guard let key = s.string() else { return false }
            s.skipSpace()
            guard s.consume(UInt8(ascii: ":")) else { return false }
            s.skipSpace()
            let child = node.flatMap { n in n.children.first { s.keyEquals(key, $0.key) }?.node }
            if let child {
                if !child.leaves.isEmpty {
                    guard let value = s.leafValue() else { return false }
                    if value.start >= 0 {
                        for leaf in child.leaves where leaf.priority < priorities[leaf.field.rawValue] {
                            priorities[leaf.field.rawValue] = leaf.priority
                            fields.set(leaf.field, start: value.start, end: value.end)
                        }
                    }
                } else if s.peek == UInt8(ascii: "{") {
                    guard scanObject(&s, child, fields) else { return false }
                } else if !s.skipValue() { return false }
            } else if !s.skipValue() { return false }
            s.skipSpace()
            if s.consume(UInt8(ascii: ",")) { continue }
            return s.consume(UInt8(ascii: "}"))
        }
    }

    /// A cursor over the line's bytes.
    struct Scanner {
        let base: UnsafePointer<UInt8>
        let end: Int
        var i = 0

        init(base: UnsafePointer<UInt8>, end: Int) { self.base = base; self.end = end }

        var peek: UInt8 { i < end ? base[i] : 0 }

        mutating func consume(_ c: UInt8) -> Bool {
            if i < end && base[i] == c { i += 1; return true }
            return false
        }

        mutating func skipSpace() {
            while i < end, base[i] == 0x20 || base[i] == 0x09 || base[i] == 0x0A || base[i] == 0x0D { i += 1 }
        }

        /// A string's content span (escapes left in place), positioned after its closing quote.
        mutating func string() -> (start: Int, end: Int)? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = i
            // The next quote ends the string unless an odd run of backslashes escapes it.
            while i < end, let hit = memchr(base + i, 0x22, end - i) {
                let q = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
                var k = q
                while k > start && base[k - 1] == UInt8(ascii: "\\") { k -= 1 }
                i = q + 1
                if (q - k) % 2 == 0 { return (start, q) }
            }
            i = end
            return nil
        }

        func keyEquals(_ key: (start: Int, end: Int), _ lowered: [UInt8]) -> Bool {
            guard key.end - key.start == lowered.count else { return false }
            for j in 0..<lowered.count {
                var c = base[key.start + j]
                if c >= 0x41 && c <= 0x5A { c |= 0x20 }
                if c != lowered[j] { return false }
            }
            return true
        }

        /// A scalar's span: a string's content, a number's digits, the first string of an
        /// array; (-1, -1) for null, objects and empty arrays.
        mutating func leafValue() -> (start: Int, end: Int)? {
            switch peek {
            case UInt8(ascii: "\""):
                return string()
            case UInt8(ascii: "["):
                i += 1
                skipSpace()
                if peek == UInt8(ascii: "\"") {
                    guard let first = string() else { return nil }
                    skipSpace()
                    while consume(UInt8(ascii: ",")) {
                        skipSpace()
                        guard skipValue() else { return nil }
                        skipSpace()
                    }
                    return consume(UInt8(ascii: "]")) ? first : nil
                }
                i -= 1
                return skipValue() ? (-1, -1) : nil
            case UInt8(ascii: "{"), UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "f"):
                return skipValue() ? (-1, -1) : nil
            default:
                let start = i
                while i < end, !Scanner.isDelimiter(base[i]) { i += 1 }
                return i > start ? (start, i) : nil
            }
        }

        static func isDelimiter(_ c: UInt8) -> Bool {
            c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]")
                || c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D
        }

        mutating func skipValue() -> Bool {
            var depth = 0
            repeat {
                skipSpace()
                guard i < end else { return false }
                switch base[i] {
                case UInt8(ascii: "\""):
                    guard string() != nil else { return false }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    i += 1
                    continue
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    i += 1
                    if depth < 0 { return false }
                case UInt8(ascii: ","), UInt8(ascii: ":"):
                    guard depth > 0 else { return false }
                    i += 1
                    continue
                default:
                    let start = i
                    while i < end, !Scanner.isDelimiter(base[i]), base[i] != UInt8(ascii: ":") { i += 1 }
                    if i == start { return false }
                }
            } while depth > 0
            return true
        }
    }
}
