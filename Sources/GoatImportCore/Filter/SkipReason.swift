/// Why a line did not become a hit. Each has a name for the summary and for `--keep`.
public enum SkipReason: Int, CaseIterable, Sendable {
    case malformed
    case tooLong
    case directive
    case method
    case redirect
    case error
    case staticFile
    case bot
    case excluded
    case beforeSince
    case afterUntil
    case noSite
    case alreadySent
    case errorLog
    case otherEntry

    public var name: String {
        switch self {
        case .malformed: return "malformed"
        case .tooLong: return "too-long"
        case .directive: return "directive"
        case .method: return "method"
        case .redirect: return "redirect"
        case .error: return "error"
        case .staticFile: return "static"
        case .bot: return "bot"
        case .excluded: return "excluded"
        case .beforeSince: return "before-since"
        case .afterUntil: return "after-until"
        case .noSite: return "no-site"
        case .alreadySent: return "already-sent"
        case .errorLog: return "error-log"
        case .otherEntry: return "other-entry"
        }
    }

    public var explanation: String {
        switch self {
        case .malformed: return "lines that do not fit the format"
        case .tooLong: return "lines over the length cap"
        case .directive: return "header lines (W3C #Version, #Fields…; an export's column names)"
        case .method: return "requests other than GET"
        case .redirect: return "3xx responses except 304"
        case .error: return "4xx and 5xx responses"
        case .staticFile: return "static files by extension (images, css, js, fonts, media, maps…)"
        case .bot: return "well-known bots and scripts by user agent (and an empty user agent)"
        case .excluded: return "lines matching an --exclude rule"
        case .beforeSince: return "lines before --since"
        case .afterUntil: return "lines after --until"
        case .noSite: return "hosts the --site-map does not name"
        case .alreadySent: return "pageviews their site acknowledged in an earlier run"
        case .errorLog: return "the server's error log: container lines on stderr, journal entries of warning priority or worse"
        case .otherEntry: return "journal entries that are not access lines, read without --unit or --identifier"
        }
    }

    /// The filters that are on by default and can be turned off with `--keep NAME`.
    public static let defaultFilters: [SkipReason] = [.method, .redirect, .error, .staticFile, .bot]
}
