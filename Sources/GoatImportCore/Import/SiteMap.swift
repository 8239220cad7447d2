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
    /// Each site's API key file, when the map names one (keys belong to sites); nil: the key
    /// every site uses.
    public private(set) var keyFiles: [String?] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Adds one `HOST=URL` (or `HOST URL`, as in a map file) entry, optionally followed by the
    /// site's key file (`HOST URL KEYFILE`, relative to `directory`); `origin` names it in errors.
    public mutating func add(_ spec: String, origin: String, directory: String? = nil) throws {
        let text = spec.trimmingCharacters(in: .whitespaces)
        var parts: [Substring]
        if let eq = text.firstIndex(of: "=") {
            parts = [text[..<eq]] + text[text.index(after: eq)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
        } else {
            parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        }
        guard parts.count == 2 || parts.count == 3 else {
            throw ParseError(description: "\(origin): expected HOST=URL or HOST URL [KEYFILE] (e.g. www.example.com https://example.goatcounter.com /etc/goatimport/example.key), got \"\(GoatCounterClient.redactingCredentials(spec))\"")
        }
        var keyFile = parts.count == 3 ? String(parts[2]) : nil
        if let file = keyFile, !file.hasPrefix("/"), let directory { keyFile = directory + "/" + file }
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
        if let known = sites.firstIndex(of: url) {
            site = known
            if let keyFile, keyFiles[known] != keyFile {
                guard keyFiles[known] == nil else { throw ParseError(description: "\(origin): \(url) has two key files") }
                keyFiles[known] = keyFile
            }
        } else {
            site = sites.count
            sites.append(url)
            keyFiles.append(keyFile)
        }
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
            try add(line, origin: "\(path):\(index + 1)", directory: (path as NSString).deletingLastPathComponent)
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
