/// A user's `--exclude` / `--include` rule: `TARGET:MATCHER`.
///
/// - `path:glob:/admin/*`, `path:re:^/wp-`, `path:/admin/*` (glob by default; query not included)
/// - `ip:10.0.0.0/8,192.0.2.7`
/// - `status:404,410,5xx,300-399`
/// - `ua:Uptime` (case-insensitive substring), `ua:re:…`, `ua:glob:…`
/// - `host:glob:*.example.com`, `ref:…`, `method:POST,PUT`
public struct Rule: CustomStringConvertible {
    public enum Target: String, CaseIterable { case path, ip, status, ua, host, ref, method }
    enum Matcher {
        case text(PCRE2Regex)
        case networks([CIDR])
        case statuses([ClosedRange<Int>])
    }

    public let target: Target
    let matcher: Matcher
    public let description: String

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ spec: String) throws {
        description = spec
        guard let colon = spec.firstIndex(of: ":"), let target = Target(rawValue: String(spec[..<colon]).lowercased()) else {
            throw ParseError(description: "rule \"\(spec)\": expected TARGET:PATTERN with TARGET one of \(Target.allCases.map(\.rawValue).joined(separator: ", ")), e.g. path:glob:/admin/*")
        }
        self.target = target
        let value = String(spec[spec.index(after: colon)...])
        guard !value.isEmpty else { throw ParseError(description: "rule \"\(spec)\": empty pattern") }
        switch target {
        case .ip:
            var networks: [CIDR] = []
            for item in value.split(separator: ",") {
                guard let cidr = CIDR(String(item).trimmingSpaces) else {
                    throw ParseError(description: "rule \"\(spec)\": \"\(item)\" is not an address or CIDR network")
                }
                networks.append(cidr)
            }
            matcher = .networks(networks)
        case .status:
            var ranges: [ClosedRange<Int>] = []
            for item in value.split(separator: ",").map({ String($0).trimmingSpaces.lowercased() }) {
                if item.count == 3, item.hasSuffix("xx"), let d = Int(item.prefix(1)) {
                    ranges.append(d * 100...d * 100 + 99)
                } else if let dash = item.firstIndex(of: "-"), let a = Int(item[..<dash]), let b = Int(item[item.index(after: dash)...]), a <= b {
                    ranges.append(a...b)
                } else if let v = Int(item) {
                    ranges.append(v...v)
                } else {
                    throw ParseError(description: "rule \"\(spec)\": \"\(item)\" is not a status, range (400-499) or class (4xx)")
                }
            }
            matcher = .statuses(ranges)
        case .method:
            let words = value.split(separator: ",").map { FormatStringCompiler.escape(String($0).trimmingSpaces) }
            matcher = .text(try Rule.compile("^(?:\(words.joined(separator: "|")))$", caseless: true, spec: spec))
        case .path, .host, .ua, .ref:
            if let re = value.dropPrefix("re:") {
                matcher = .text(try Rule.compile(re, caseless: false, spec: spec))
            } else if let glob = value.dropPrefix("glob:") {
                matcher = .text(try Rule.compile(Rule.globToRegex(glob), caseless: target == .host, spec: spec))
            } else if target == .ua || target == .ref {
                matcher = .text(try Rule.compile(FormatStringCompiler.escape(value), caseless: true, spec: spec))
            } else {
                matcher = .text(try Rule.compile(Rule.globToRegex(value), caseless: target == .host, spec: spec))
            }
        }
    }

    private static func compile(_ pattern: String, caseless: Bool, spec: String) throws -> PCRE2Regex {
        do { return try PCRE2Regex(pattern, caseless: caseless) } catch {
            throw ParseError(description: "rule \"\(spec)\": \(error)")
        }
    }

    /// Why a rule that parses cannot match, or nil: a path glob that does not start where every
    /// path starts (goatcounter import's `path:.html` was a substring).
    public static func hint(_ spec: String) -> String? {
        guard let value = spec.dropPrefix("path:") else { return nil }
        let glob = value.dropPrefix("glob:") ?? (value.hasPrefix("re:") ? nil : value)
        guard let glob, let first = glob.first, !"/*?[".contains(first) else { return nil }
        return "a path glob matches the whole path, which starts with /, so this matches nothing; "
            + "for a suffix use path:glob:*\(glob), for a substring path:re:\(FormatStringCompiler.escape(String(glob)))"
    }

    /// `*` is any run of characters (including `/`), `?` one character, `[…]` a class.
    static func globToRegex(_ glob: String) -> String {
        var out = "^"
        var inClass = false
        for c in glob {
            if inClass { out.append(c); if c == "]" { inClass = false }; continue }
            switch c {
            case "*": out += ".*"
            case "?": out += "."
            case "[": out.append(c); inClass = true
            default: out += FormatStringCompiler.escape(String(c))
            }
        }
        return out + "$"
    }

    /// Whether the rule matches this line's pageview.
    func matches(_ line: UnsafePointer<UInt8>, _ pv: Pageview) -> Bool {
        switch matcher {
        case .statuses(let ranges):
            return ranges.contains { $0.contains(pv.status) }
        case .networks(let networks):
            guard pv.ip.isPresent, let ip = IPAddress(line + pv.ip.start, pv.ip.count) else { return false }
            return networks.contains { $0.contains(ip) }
        case .text(let regex):
            let span: Span
            switch target {
            case .path: span = pv.path
            case .host: span = pv.host
            case .ua: span = pv.userAgent
            case .ref: span = pv.referer
            case .method: span = pv.method
            default: return false
            }
            guard span.isPresent else { return false }
            return regex.matches(line + span.start, span.count)
        }
    }
}
