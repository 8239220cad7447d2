/// W3C extended log field identifiers (as in a `#Fields:` directive) that goatimport reads.
///
/// A lower rank wins when two columns name the same field: CloudFront logs both `cs(Host)`
/// (its own distribution name) and, in its own variant, the Host the browser sent, and IIS
/// may log `cs-host` beside a custom `cs(Host)`.
enum W3CFieldNames {
    static let fields: [String: (field: LogField, rank: Int)] = [
        "date": (.date, 0),
        "time": (.time, 0),
        "c-ip": (.remoteAddr, 0),
        "cs-username": (.remoteUser, 0),
        "cs-method": (.method, 0),
        "cs-uri-stem": (.path, 0),
        "cs-uri-query": (.query, 0),
        "cs-uri": (.uri, 0),
        "sc-status": (.status, 0),
        "cs(referer)": (.referer, 0),
        "cs(user-agent)": (.userAgent, 0),
        "cs-host": (.host, 0),
        "cs(host)": (.host, 1),
        "cs(x-forwarded-for)": (.xForwardedFor, 0),
    ]

    /// IIS's default selection, for a file read from the middle (no `#Fields:` seen yet).
    static let iisDefault = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
}
