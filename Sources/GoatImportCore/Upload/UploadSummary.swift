/// What the uploader did, for the summary and `--summary-json`.
public struct UploadSummary: Sendable {
    public var sent = 0                  // hits the server accepted
    public var rejected = 0              // hits refused one by one (per-hit errors)
    public var rejectedReasons: [String: Int] = [:]
    public var filteredByServer = 0      // accepted but filtered (X-Goatcounter-Filter)
    public var requests = 0
    public var rateLimited = 0           // 429 replies
    public var retries = 0               // resends after network errors, timeouts and 5xx
    public var bytesSent = 0
    public var waitedForRateLimit = 0.0  // seconds
    public var lastAcknowledged: (input: Int, line: Int)?

    public init() {}

    /// Totals over sites.
    public mutating func add(_ other: UploadSummary) {
        sent += other.sent; rejected += other.rejected; filteredByServer += other.filteredByServer
        rejectedReasons.merge(other.rejectedReasons, uniquingKeysWith: +)
        requests += other.requests; rateLimited += other.rateLimited; retries += other.retries
        bytesSent += other.bytesSent; waitedForRateLimit += other.waitedForRateLimit
    }

    public var jsonObject: [String: Any] {
        [
            "sent": sent, "rejected": rejected, "rejected_reasons": rejectedReasons,
            "filtered_by_server": filteredByServer, "requests": requests, "rate_limited": rateLimited,
            "retries": retries, "bytes_sent": bytesSent, "rate_limit_wait_seconds": waitedForRateLimit,
        ]
    }
}
