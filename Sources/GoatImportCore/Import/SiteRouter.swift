/// Routes each line's host to its site with a `SiteMap`, on the parsing thread.
///
/// A log has few distinct hosts and many lines, so each host is matched once and remembered,
/// keyed by a hash of its normalised bytes: no String per line. Lines of hosts with no site
/// (and lines without a host) are counted per host for the summary.
public final class SiteRouter {
    public let map: SiteMap
    private struct Known {
        var bytes: [UInt8]
        var site: Int          // -1: unmapped
        var lines: Int
    }
    private var known: [UInt64: [Known]] = [:]
    private var scratch = [UInt8](repeating: 0, count: 256)
    /// Lines whose host has no site, and lines with no host at all (key "").
    public private(set) var noHost = 0

    public init(map: SiteMap) { self.map = map }

    /// The site index for the host at `host` in `line`, or nil.
    @inline(__always)
    public func route(_ line: UnsafePointer<UInt8>, host: Span) -> Int? {
        guard host.isPresent, host.count > 0 else { noHost += 1; return nil }
        let n = normalise(line + host.start, host.count)
        var hash: UInt64 = 0xcbf29ce484222325
        for i in 0..<n { hash = (hash ^ UInt64(scratch[i])) &* 0x100000001b3 }
        var found = -1, site = -1
        if let bucket = known[hash] {
            for i in bucket.indices where bucket[i].bytes.count == n && bucket[i].bytes.elementsEqual(scratch[0..<n]) {
                found = i; site = bucket[i].site
                break
            }
        }
        if found >= 0 {
            if site >= 0 { return site }
            known[hash]![found].lines += 1   // in place: no copy of the bucket is alive here
            return nil
        }
        let bytes = Array(scratch[0..<n])
        site = map.site(forHost: String(decoding: bytes, as: UTF8.self)) ?? -1
        known[hash, default: []].append(Known(bytes: bytes, site: site, lines: site < 0 ? 1 : 0))
        return site < 0 ? nil : site
    }

    /// Lines per host that had no site, most first.
    public var unmapped: [(host: String, lines: Int)] {
        var result = known.values.flatMap { $0 }.filter { $0.site < 0 }
            .map { (host: String(decoding: $0.bytes, as: UTF8.self), lines: $0.lines) }
        if noHost > 0 { result.append((host: "", lines: noHost)) }
        return result.sorted { $0.lines != $1.lines ? $0.lines > $1.lines : $0.host < $1.host }
    }

    /// Lower-case, without a `:port`, IPv6 brackets (`IPAddress.hostSpan`, as for client
    /// addresses) and a trailing dot, into `scratch` (hosts are ASCII or punycode; longer than
    /// 253 bytes is not a host name and is cut, to keep the key bounded).
    @inline(__always)
    private func normalise(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
        guard let span = IPAddress.hostSpan(p, count) else { return 0 }
        var end = span.count
        if end > 1 && p[span.start + end - 1] == UInt8(ascii: ".") { end -= 1 }
        end = min(end, scratch.count)
        for i in 0..<end {
            let c = p[span.start + i]
            scratch[i] = c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c + 32 : c
        }
        return end
    }
}
