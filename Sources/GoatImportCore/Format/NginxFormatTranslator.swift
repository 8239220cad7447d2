/// Turns an nginx `log_format` string into a pattern.
public enum NginxFormatTranslator {
    /// Variables whose values goatimport reads.
    static let fields: [String: (LogField, String?)] = [
        "remote_addr": (.remoteAddr, ValuePattern.token),
        "realip_remote_addr": (.remoteAddr, ValuePattern.token),
        "remote_user": (.remoteUser, ValuePattern.token),
        "time_local": (.timeLocal, ValuePattern.clfTime),
        "time_iso8601": (.timeISO8601, ValuePattern.isoTime),
        "msec": (.msec, ValuePattern.epoch),
        "request": (.request, nil),
        "request_method": (.method, ValuePattern.token),
        "request_uri": (.uri, ValuePattern.token),
        "uri": (.path, ValuePattern.token),
        "document_uri": (.path, ValuePattern.token),
        "args": (.query, ValuePattern.token),
        "query_string": (.query, ValuePattern.token),
        "status": (.status, ValuePattern.status),
        "http_referer": (.referer, nil),
        "http_user_agent": (.userAgent, nil),
        "http_x_forwarded_for": (.xForwardedFor, nil),
        "host": (.host, ValuePattern.token),
        "http_host": (.host, ValuePattern.token),
        "server_name": (.host, ValuePattern.token),
    ]

    /// Variables nginx knows that goatimport skips over.
    static let known: Set<String> = [
        "body_bytes_sent", "bytes_sent", "request_length", "request_time", "connection",
        "connection_requests", "connection_time", "pipe", "pid", "remote_port", "server_addr",
        "server_port", "server_protocol", "scheme", "https", "hostname", "request_id",
        "ssl_protocol", "ssl_cipher", "ssl_server_name", "ssl_session_reused", "gzip_ratio",
        "proxy_add_x_forwarded_for", "proxy_host", "proxy_port", "is_args", "content_type",
        "content_length", "limit_req_status", "limit_conn_status", "http2", "http3",
        "binary_remote_addr", "request_completion", "request_filename", "document_root",
        "realpath_root", "nginx_version", "tcpinfo_rtt", "tcpinfo_rttvar", "tcpinfo_snd_cwnd",
        "tcpinfo_rcv_space", "time_iso8601", "msec", "request_body", "uid_got", "uid_set",
        "upstream_addr", "upstream_status", "upstream_response_time", "upstream_connect_time",
        "upstream_header_time", "upstream_response_length", "upstream_bytes_received",
        "upstream_bytes_sent", "upstream_cache_status", "geoip_country_code", "geoip_country_name",
        "geoip_city", "server_protocol", "remote_user", "sent_http_content_type",
    ]

    static let prefixes = ["http_", "sent_http_", "sent_trailer_", "cookie_", "arg_", "upstream_", "geoip_", "ssl_", "jwt_"]

    public static func translate(_ format: String) throws -> LogFormat {
        var tokens: [FormatStringCompiler.Token] = []
        var unknown: [String] = []
        var literal = ""
        let chars = Array(format)
        var i = 0
        func isNameChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        while i < chars.count {
            let c = chars[i]
            guard c == "$", i + 1 < chars.count else { literal.append(c); i += 1; continue }
            var name = ""
            var j = i + 1
            if chars[j] == "{" {
                j += 1
                while j < chars.count && chars[j] != "}" { name.append(chars[j]); j += 1 }
                j += 1
            } else {
                while j < chars.count && isNameChar(chars[j]) && chars[j].isASCII { name.append(chars[j]); j += 1 }
            }
            guard !name.isEmpty else { literal.append(c); i += 1; continue }
            if !literal.isEmpty { tokens.append(.literal(literal)); literal = "" }
            if let (field, pattern) = fields[name] {
                tokens.append(.variable(display: "$" + name, field: field, pattern: pattern))
            } else if known.contains(name) || prefixes.contains(where: { name.hasPrefix($0) }) {
                let numeric = name.hasSuffix("_time") || name.hasSuffix("_length") || name.hasPrefix("bytes")
                    || name.hasSuffix("_sent") || name == "connection" || name == "pid"
                tokens.append(.variable(display: "$" + name, field: nil, pattern: numeric ? ValuePattern.token : nil))
            } else {
                unknown.append("$" + name)
            }
            i = j
        }
        if !literal.isEmpty { tokens.append(.literal(literal)) }
        if !unknown.isEmpty { throw FormatError.unknownVariables(kind: "nginx", unknown) }
        return try FormatStringCompiler.compile(tokens, name: "nginx", summary: "nginx log_format '\(format)'")
    }
}
