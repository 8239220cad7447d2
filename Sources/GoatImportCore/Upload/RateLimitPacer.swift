import Foundation

/// Paces requests from the server's own rate-limit headers.
///
/// GoatCounter's count limit is a fixed window (60 requests per 120 s by default) whose tokens
/// all come back at once; the fastest way through a backfill is to send while
/// `X-Rate-Limit-Remaining` says there are tokens and then wait `X-Rate-Limit-Reset`. No
/// guessing: a server with a raised limit is never slowed down. Both server generations are
/// read: v2.4.1 counts the current request in `Remaining` and sends the window's length in
/// `Reset`, so it can cost one 429 per window, which the uploader then waits out.
public final class RateLimitPacer {
    public private(set) var limit: Int?
    public private(set) var remaining: Int?
    private var resetAt: Double?     // monotonic seconds
    private let clock: () -> Double

    public init(clock: @escaping () -> Double = RateLimitPacer.monotonic) {
        self.clock = clock
    }

    public static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Seconds to wait before the next request (0: go).
    public func delayBeforeNextRequest() -> Double {
        guard let remaining, remaining <= 0, let resetAt else { return 0 }
        let wait = resetAt - clock()
        if wait <= 0 {
            self.remaining = nil   // the window has turned over; the next reply tells the new state
            return 0
        }
        return wait
    }

    /// Reads the headers of any reply that passed the limiter.
    public func observe(_ response: HTTPResponse) {
        if let l = response.header("X-Rate-Limit-Limit").flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) { limit = l }
        if let r = response.header("X-Rate-Limit-Remaining").flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            remaining = r
        }
        if let s = response.header("X-Rate-Limit-Reset").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
            resetAt = clock() + max(0, s)
        }
    }

    /// How long a 429 asks us to wait: Retry-After, else X-Rate-Limit-Reset (v2.4.1 has no
    /// Retry-After and sends the window's length there: waiting a whole window is safe), and
    /// never less than a moment, so that a `0` cannot make a busy loop.
    public func delayAfter429(_ response: HTTPResponse) -> Double {
        observe(response)
        remaining = 0
        let retryAfter = response.header("Retry-After").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let reset = response.header("X-Rate-Limit-Reset").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let wait = max(retryAfter ?? reset ?? 5, 0.25)
        resetAt = clock() + wait
        return wait
    }
}
