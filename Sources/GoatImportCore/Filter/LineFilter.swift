/// Decides which pageviews become hits: the default filters, the user's rules and the time range.
public final class LineFilter {
    public struct Options {
        /// Default filters that are on; `--keep NAME` removes one.
        public var enabled: Set<SkipReason> = Set(SkipReason.defaultFilters)
        public var excludes: [Rule] = []
        /// Re-admit lines a filter or exclude rule would skip (not malformed ones, not the time range).
        public var includes: [Rule] = []
        public var since: Int?
        public var until: Int?
        public var staticExtensions = StaticFiles.defaultExtensions
        public init() {}
    }

    public let options: Options
    private let staticFiles: StaticFiles
    private let bots: BotDetector
    private let skipMethod, skipRedirect, skipError, skipStatic, skipBot: Bool

    public init(_ options: Options) throws {
        // Rules compiled for this filter alone: a PCRE2 regex's match data is one matcher's
        // scratch space, and each parse lane has a filter of its own.
        var own = options
        own.excludes = try options.excludes.map { try Rule($0.description) }
        own.includes = try options.includes.map { try Rule($0.description) }
        self.options = own
        staticFiles = StaticFiles(extensions: options.staticExtensions)
        bots = try BotDetector()
        skipMethod = options.enabled.contains(.method)
        skipRedirect = options.enabled.contains(.redirect)
        skipError = options.enabled.contains(.error)
        skipStatic = options.enabled.contains(.staticFile)
        skipBot = options.enabled.contains(.bot)
    }

    /// nil: the line is a pageview to send.
    @inline(__always)
    public func check(_ line: UnsafePointer<UInt8>, _ pv: Pageview, hasUserAgentField: Bool) -> SkipReason? {
        if pv.time != Int.min {
            if let since = options.since, pv.time < since { return .beforeSince }
            if let until = options.until, pv.time >= until { return .afterUntil }
        }
        guard let reason = reason(line, pv, hasUserAgentField) else { return nil }
        if !options.includes.isEmpty && options.includes.contains(where: { $0.matches(line, pv) }) { return nil }
        return reason
    }

    @inline(__always)
    private func reason(_ line: UnsafePointer<UInt8>, _ pv: Pageview, _ hasUserAgentField: Bool) -> SkipReason? {
        if skipMethod && pv.method.isPresent && !isGET(line + pv.method.start, pv.method.count) { return .method }
        if skipError && pv.status >= 400 { return .error }
        if skipRedirect && pv.status >= 300 && pv.status < 400 && pv.status != 304 { return .redirect }
        if skipStatic && staticFiles.matches(line + pv.path.start, pv.path.count) { return .staticFile }
        if skipBot && hasUserAgentField {
            if !pv.userAgent.isPresent { return .bot }
            if bots.isBot(line + pv.userAgent.start, pv.userAgent.count) { return .bot }
        }
        if !options.excludes.isEmpty && options.excludes.contains(where: { $0.matches(line, pv) }) { return .excluded }
        return nil
    }

    @inline(__always)
    private func isGET(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        count == 3 && p[0] == UInt8(ascii: "G") && p[1] == UInt8(ascii: "E") && p[2] == UInt8(ascii: "T")
    }
}
