#if canImport(Glibc)
import Glibc
#endif

/// Reads a `Pageview` from a parsed line: splits the request line, picks the client address,
/// converts the time to UTC.
public final class PageviewBuilder {
    public let timeZone: LogTimeZone
    public let trustedProxies: TrustedProxies
    private var lastTimeBytes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var lastTimeCount = -1
    private var lastTime = 0

    public init(timeZone: LogTimeZone = .utc, trustedProxies: TrustedProxies = .loopbackAndPrivate) {
        // The zone's cache is this builder's alone: parse lanes each build with their own.
        self.timeZone = timeZone.copy()
        self.trustedProxies = trustedProxies
    }

    @inline(__always)
    public func build(_ line: UnsafePointer<UInt8>, _ fields: ParsedFields, into pv: inout Pageview) -> LineProblem? {
        pv = Pageview()
        // Status first: a garbage request line from a scanner is an error line, not a malformed one.
        if fields.has(.status) {
            let s = fields.start(.status), e = fields.end(.status)
            var v = 0
            var i = s
            // Stops past three digits: a JSON log may hold any number here (found by fuzzing).
            while i < e, v < 1000, line[i] >= 48 && line[i] <= 57 { v = v * 10 + Int(line[i] - 48); i += 1 }
            guard i == e, i > s, v < 1000 else { return .badStatus }
            pv.status = v
        }

        if fields.has(.request) {
            let s = fields.start(.request), e = fields.end(.request)
            guard let firstSpace = find(line, s, e, 0x20) else { return .badRequest }
            pv.method = Span(start: s, end: firstSpace)
            var uriEnd = e
            // "GET /a b HTTP/1.1": the protocol is after the last space, spaces before it belong to the URI.
            if let lastSpace = findLast(line, firstSpace + 1, e, 0x20),
               e - lastSpace > 5, line[lastSpace + 1] == UInt8(ascii: "H"), line[lastSpace + 2] == UInt8(ascii: "T") {
                uriEnd = lastSpace
            }
            splitURI(line, firstSpace + 1, uriEnd, &pv)
        } else {
            if fields.has(.method) { pv.method = Span(start: fields.start(.method), end: fields.end(.method)) }
            if fields.has(.uri) {
                splitURI(line, fields.start(.uri), fields.end(.uri), &pv)
            } else if fields.has(.path) {
                pv.path = Span(start: fields.start(.path), end: fields.end(.path))
                if fields.has(.query) {
                    var qs = fields.start(.query)
                    let qe = fields.end(.query)
                    if qs < qe && line[qs] == UInt8(ascii: "?") { qs += 1 }   // Apache %q includes the '?'
                    if qs < qe && !(qe - qs == 1 && line[qs] == UInt8(ascii: "-")) { pv.query = Span(start: qs, end: qe) }
                }
            }
        }
        guard pv.path.isPresent, pv.path.count > 0, line[pv.path.start] == UInt8(ascii: "/") else {
            return .badRequest
        }

        if let problem = readTime(line, fields, &pv) { return problem }

        pv.ip = clientAddress(line, fields)
        if fields.has(.userAgent) { pv.userAgent = dashIsNone(line, fields.start(.userAgent), fields.end(.userAgent)) }
        if fields.has(.referer) { pv.referer = dashIsNone(line, fields.start(.referer), fields.end(.referer)) }
        // A host field wins over the host of an absolute request URI (splitURI set that one).
        if fields.has(.host) {
            let host = dashIsNone(line, fields.start(.host), fields.end(.host))
            if host.isPresent { pv.host = host }
        }
        return nil
    }

    @inline(__always)
    private func dashIsNone(_ line: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Span {
        if e == s || (e - s == 1 && line[s] == UInt8(ascii: "-")) { return .none }
        return Span(start: s, end: e)
    }

    @inline(__always)
    private func find(_ line: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ c: UInt8) -> Int? {
        var i = s
        while i < e { if line[i] == c { return i }; i += 1 }
        return nil
    }

    @inline(__always)
    private func findLast(_ line: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ c: UInt8) -> Int? {
        var i = e - 1
        while i >= s { if line[i] == c { return i }; i -= 1 }
        return nil
    }

    /// `/path?query`, or an absolute-form `http://host:80/path?query` as proxies and load
    /// balancers log it: the path is what a browser's location.pathname would be, and the
    /// authority's host (without port) is the hit's host.
    @inline(__always)
    private func splitURI(_ line: UnsafePointer<UInt8>, _ s0: Int, _ e: Int, _ pv: inout Pageview) {
        var s = s0
        if s < e && line[s] != UInt8(ascii: "/") {
            if let colon = find(line, s, e, UInt8(ascii: ":")), colon + 2 < e,
               line[colon + 1] == UInt8(ascii: "/"), line[colon + 2] == UInt8(ascii: "/") {
                let authority = colon + 3
                s = find(line, authority, e, UInt8(ascii: "/")) ?? e
                pv.host = hostOfAuthority(line, authority, s)
                // No "/" after the authority: there is no path to count.
                if s == e { return }
            }
        }
        if let q = find(line, s, e, UInt8(ascii: "?")) {
            pv.path = Span(start: s, end: q)
            if q + 1 < e { pv.query = Span(start: q + 1, end: e) }
        } else {
            pv.path = Span(start: s, end: e)
        }
    }

    /// `host`, `host:port`, `[v6]:port` → the host (IPv6 keeps its brackets, as nginx's $host).
    @inline(__always)
    private func hostOfAuthority(_ line: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Span {
        guard s < e else { return .none }
        if line[s] == UInt8(ascii: "[") {
            guard let close = find(line, s, e, UInt8(ascii: "]")) else { return .none }
            return Span(start: s, end: close + 1)
        }
        return Span(start: s, end: find(line, s, e, UInt8(ascii: ":")) ?? e)
    }

    @inline(__always)
    private func readTime(_ line: UnsafePointer<UInt8>, _ fields: ParsedFields, _ pv: inout Pageview) -> LineProblem? {
        let field: LogField
        if fields.has(.timeLocal) { field = .timeLocal }
        else if fields.has(.timeISO8601) { field = .timeISO8601 }
        else if fields.has(.msec) { field = .msec }
        else if fields.has(.epochMillis) { field = .epochMillis }
        else if fields.has(.date) && fields.has(.time) {
            let ds = fields.start(.date), ts = fields.start(.time)
            guard let local = Timestamp.parseDateAndTime(line + ds, fields.end(.date) - ds, line + ts, fields.end(.time) - ts)
            else { return .badTime }
            pv.time = timeZone.toUTC(local)
            return nil
        } else { return .noTime }
        let s = fields.start(field), count = fields.end(field) - s
        // Most lines share their second with the line before: compare up to 32 bytes and reuse.
        if count == lastTimeCount && count <= 32 && sameBytes(line + s, count) {
            pv.time = lastTime
            return nil
        }
        var seconds: Int
        switch field {
        case .timeLocal:
            guard let t = Timestamp.parseCLF(line + s, count) else { return .badTime }
            seconds = t.hasOffset ? t.seconds : timeZone.toUTC(t.seconds)
        case .timeISO8601:
            guard let t = Timestamp.parseISO8601(line + s, count) else { return .badTime }
            seconds = t.hasOffset ? t.seconds : timeZone.toUTC(t.seconds)
        case .epochMillis:
            guard let t = Timestamp.parseEpochMillis(line + s, count) else { return .badTime }
            seconds = t
        default:
            guard let t = Timestamp.parseEpoch(line + s, count) else { return .badTime }
            seconds = t
        }
        pv.time = seconds
        if count <= 32 {
            lastTimeBytes = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &lastTimeBytes) { $0.baseAddress!.copyMemory(from: line + s, byteCount: count) }
            lastTimeCount = count
            lastTime = seconds
        }
        return nil
    }

    @inline(__always)
    private func sameBytes(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        withUnsafeBytes(of: &lastTimeBytes) { memcmp($0.baseAddress!, p, count) == 0 }
    }

    /// The remote address without its port; when it is a trusted proxy (or the log has no
    /// remote address) and the line has an X-Forwarded-For field, the rightmost address in it
    /// that is not a trusted proxy: each proxy appends the address it saw, so that is the
    /// client as the nearest untrusted hop saw it. A header from an untrusted address is the
    /// client's own word and is not read.
    @inline(__always)
    private func clientAddress(_ line: UnsafePointer<UInt8>, _ fields: ParsedFields) -> Span {
        let remote = remoteAddress(line, fields)
        guard fields.has(.xForwardedFor), fields.end(.xForwardedFor) > fields.start(.xForwardedFor) else { return remote }
        if remote.isPresent {
            guard let ip = IPAddress(line + remote.start, remote.count), trustedProxies.contains(ip) else { return remote }
        }
        let s = fields.start(.xForwardedFor)
        var e = fields.end(.xForwardedFor)
        while e > s {
            var itemStart = e
            while itemStart > s && line[itemStart - 1] != UInt8(ascii: ",") { itemStart -= 1 }
            var a = itemStart, b = e
            // IIS writes its spaces as `+`.
            while a < b && (line[a] == 0x20 || line[a] == 0x09 || line[a] == 0x2B) { a += 1 }
            while b > a && (line[b - 1] == 0x20 || line[b - 1] == 0x09) { b -= 1 }
            // Something that is no address ("unknown", "-") ends the chain: the hop before it is
            // not known, so the address the server saw stands.
            guard b > a, let ip = IPAddress(line + a, b - a), let host = IPAddress.hostSpan(line + a, b - a) else { return remote }
            if !trustedProxies.contains(ip) { return Span(start: a + host.start, end: a + host.start + host.count) }
            e = itemStart - 1
        }
        return remote
    }

    @inline(__always)
    private func remoteAddress(_ line: UnsafePointer<UInt8>, _ fields: ParsedFields) -> Span {
        guard fields.has(.remoteAddr) else { return .none }
        let s = fields.start(.remoteAddr), e = fields.end(.remoteAddr)
        if e == s || (e - s == 1 && line[s] == UInt8(ascii: "-")) { return .none }
        guard let host = IPAddress.hostSpan(line + s, e - s) else { return .none }
        return Span(start: s + host.start, end: s + host.start + host.count)
    }
}
