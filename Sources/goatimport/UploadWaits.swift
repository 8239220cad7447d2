import GoatImportCore

/// What one site's uploader waits for and until when, and the pace the server's rate limit
/// really allows (hits per second over a whole window, its wait included), learned from the
/// uploader's `.waiting` events.
struct UploadWaits {
    private(set) var until: Double?
    private(set) var reason = ""
    /// Hits per second over the last window that ended in a rate-limit wait.
    private(set) var allowedRate: Double?
    private var windowStart: Double
    private var windowStartSent = 0

    init(now: Double) { windowStart = now }

    /// A wait until `until` (on `RateLimitPacer.monotonic()`, as `now`).
    mutating func waiting(until: Double, reason: String, sent: Int, now: Double) {
        self.until = until
        self.reason = reason
        // The uploader's rate-limit waits ("api-count rate limit", "429 from the server (…)"),
        // not the pauses before a resend.
        guard reason.hasSuffix("rate limit") || reason.hasPrefix("429") else { return }
        let window = until - windowStart
        if window > 0 && sent > windowStartSent { allowedRate = Double(sent - windowStartSent) / window }
        windowStart = until
        windowStartSent = sent
    }

    mutating func acknowledged() { until = nil }

    /// "waiting 57 s (rate limit)" while a wait lasts, counting down; short: "wait 57 s".
    func text(now: Double, short: Bool = false) -> String? {
        guard let until, until > now else { return nil }
        let seconds = Int((until - now).rounded(.up))
        return short ? "wait \(seconds) s" : "waiting \(seconds) s (\(reason))"
    }

    func secondsLeft(now: Double) -> Double { until.map { max(0, $0 - now) } ?? 0 }
}
