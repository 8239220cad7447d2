import Foundation

/// Which GoatCounter site each virtual host's pageviews go to (`--site-map HOST=URL`,
/// `--site-map-file`).
///
/// A host pattern is a name (`example.com`) or a glob (`*.example.com`, `*`). Exact names win
/// over globs; among globs the first one given wins, so a catch-all `*` goes last. Several hosts
/// may share a site: the sites are the distinct URLs, in order of first appearance.
public struct SiteMap: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var pattern: String   // lower-case
        public var site: Int         // index into `sites`
    }

    public private(set) var entries: [Entry] = []
    /// Site URLs as given (normalised: no trailing slash).
    public private(set) var sites: [String] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Adds one `HOST=URL` (or `HOST URL`, as in a map file) entry; `origin` names it in errors.
    public mutating func add(_ spec: String, origin: String) throws {
        let text = spec.trimmingCharacters(in: .whitespaces)
        let parts: [Substring]
        if let eq = text.firstIndex(of: "=") {
            parts = [text[..<eq], text[text.index(after: eq)...]]
        } else {
            parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        }
        guard parts.count == 2 else {
            throw ParseError(description: "\(origin): expected HOST=URL (e.g. www.example.com=https://example.goatcounter.com), got \"\(GoatCounterClient.redactingCredentials(spec))\"")
        }
        var host = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
        var url = parts[1].trimmingCharacters(in: .whitespaces)
        // An IPv6 literal is matched without its brackets, as the router sees it.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("/"), !host.contains(":") || IPAddress(host) != nil else {
            throw ParseError(description: "\(origin): \"\(host)\" is not a host name or glob (no scheme, port or path)")
        }
        guard (try? GoatCounterClient.parseSite(url)) != nil else {
            throw ParseError(description: "\(origin): \"\(GoatCounterClient.redactingCredentials(url))\" is not a GoatCounter site URL such as https://stats.example.com (with no user or password)")
        }
        if Self.isGlob(host) && (try? PCRE2Regex(Rule.globToRegex(host))) == nil {
            throw ParseError(description: "\(origin): \"\(host)\" is not a valid glob")
        }
        while url.hasSuffix("/") { url.removeLast() }
        if entries.contains(where: { $0.pattern == host }) {
            throw ParseError(description: "\(origin): \(host) is mapped twice")
        }
        let site: Int
        if let known = sites.firstIndex(of: url) { site = known } else { site = sites.count; sites.append(url) }
        entries.append(Entry(pattern: host, site: site))
    }

    /// Reads a map file: one `HOST=URL` or `HOST URL` per line; `#` starts a comment.
    public mutating func addFile(_ path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ParseError(description: "\(path): cannot read the site map (\(error.localizedDescription))")
        }
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            try add(line, origin: "\(path):\(index + 1)")
        }
    }

    /// The site for a normalised host name (lower-case; no port, brackets or trailing dot), or
    /// nil. Called once per distinct host (the router remembers), so globs are compiled here.
    public func site(forHost host: String) -> Int? {
        if let exact = entries.first(where: { $0.pattern == host }) { return exact.site }
        for entry in entries where Self.isGlob(entry.pattern) {
            // The same globs as `--exclude host:glob:…`: `*` is any run of characters, dots
            // included, so `*.example.com` takes `a.b.example.com`.
            if let regex = try? PCRE2Regex(Rule.globToRegex(entry.pattern)), regex.matches(host) { return entry.site }
        }
        return nil
    }

    static func isGlob(_ pattern: String) -> Bool { pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" } }
}
