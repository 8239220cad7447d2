import Foundation

/// What an import did, for the end-of-run report on stderr and `--summary-json`.
public struct ImportSummary: Sendable {
    public var files = 0
    public var bytes: Int64 = 0
    public var lines = 0
    public var hits = 0
    public var skipped = [Int](repeating: 0, count: SkipReason.allCases.count)
    public var clipped = HitEncoder.Clipped()
    public var inputErrors: [String] = []
    public var elapsed: Double = 0
    /// With a site map: hits per site URL, and lines per host that had no site ("" for none).
    public var siteHits: [String: Int] = [:]
    public var unmappedHosts: [String: Int] = [:]

    public init() {}

    public subscript(reason: SkipReason) -> Int {
        get { skipped[reason.rawValue] }
        set { skipped[reason.rawValue] = newValue }
    }

    public var totalSkipped: Int { skipped.reduce(0, +) }

    public mutating func add(_ other: ImportSummary) {
        files += other.files; bytes += other.bytes; lines += other.lines; hits += other.hits
        for i in skipped.indices { skipped[i] += other.skipped[i] }
        clipped.path += other.clipped.path; clipped.ref += other.clipped.ref; clipped.userAgent += other.clipped.userAgent
        inputErrors += other.inputErrors
        siteHits.merge(other.siteHits, uniquingKeysWith: +)
        unmappedHosts.merge(other.unmappedHosts, uniquingKeysWith: +)
    }

    /// The human report: one line per count that is not zero.
    public func render() -> String {
        var out: [String] = []
        let rate = elapsed > 0 ? Double(lines) / elapsed : 0
        out.append(String(format: "%@ read from %@ (%@) in %.2f s, %@ lines/s",
                          counted(lines, "line"), counted(files, "input"), Self.byteSize(bytes), elapsed, grouped(Int(rate))))
        out.append(counted(hits, "hit"))
        if totalSkipped > 0 {
            out.append("\(counted(totalSkipped, "line")) skipped:")
            for reason in SkipReason.allCases where self[reason] > 0 {
                out.append("  \(reason.name.padding(toLength: 13, withPad: " ", startingAt: 0)) \(grouped(self[reason]).leftPadded(10))  \(reason.explanation)")
            }
        }
        for (site, n) in siteHits.sorted(by: { $0.key < $1.key }) {
            out.append("  \(grouped(n).leftPadded(10)) \(noun(n, "hit")) for \(site)")
        }
        if !unmappedHosts.isEmpty {
            let top = unmappedHosts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            out.append("lines of hosts with no site: " + top.prefix(10).map { "\($0.key.isEmpty ? "(no host)" : $0.key) \(grouped($0.value))" }.joined(separator: ", ")
                       + (top.count > 10 ? ", and \(counted(top.count - 10, "more host"))" : ""))
        }
        if clipped.total > 0 {
            out.append("\(counted(clipped.total, "value")) clipped to the server's limits (path \(clipped.path), ref \(clipped.ref), user agent \(clipped.userAgent))")
        }
        for error in inputErrors { out.append("error: \(error)") }
        return out.joined(separator: "\n")
    }

    static func byteSize(_ n: Int64) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1024 * 1024 { return String(format: "%.1f KiB", Double(n) / 1024) }
        if n < 1024 * 1024 * 1024 { return String(format: "%.1f MiB", Double(n) / 1048576) }
        return String(format: "%.2f GiB", Double(n) / 1073741824)
    }

    /// The same counts as JSON, for scripts and timers.
    public var jsonObject: [String: Any] {
        var skippedObject: [String: Int] = [:]
        for reason in SkipReason.allCases { skippedObject[reason.name] = self[reason] }
        return [
            "files": files, "bytes": bytes, "lines": lines, "hits": hits, "skipped": skippedObject,
            "clipped": ["path": clipped.path, "ref": clipped.ref, "user_agent": clipped.userAgent],
            "input_errors": inputErrors, "elapsed_seconds": elapsed,
            "site_hits": siteHits, "unmapped_hosts": unmappedHosts,
        ]
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// The importer's answer to a stop that cancelled its queue: what it had read until then.
public struct ImportStopped: Error {
    public let summary: ImportSummary
}
