import Foundation
import Testing
@testable import GoatImportCore

/// The pacer's reading of the two limiter styles, on a clock the test moves.
struct RateLimitPacerTests {
    final class Clock: @unchecked Sendable { var now = 100.0 }

    func reply(_ status: Int = 202, limit: Int, remaining: Int, reset: Int, retryAfter: Int? = nil) -> HTTPResponse {
        var headers = ["x-rate-limit-limit": "\(limit)", "x-rate-limit-remaining": "\(remaining)", "x-rate-limit-reset": "\(reset)"]
        if let retryAfter { headers["retry-after"] = "\(retryAfter)" }
        return HTTPResponse(status: status, headers: headers, body: Data())
    }

    @Test("sliding log (2.4.x): told by Remaining equal to Limit; waits only until its oldest send leaves the window")
    func slidingLog() {
        let clock = Clock()
        let pacer = RateLimitPacer(clock: { clock.now })
        for i in 0..<5 {
            clock.now = 100 + Double(i) * 0.1
            pacer.didSend()
            pacer.observe(reply(limit: 5, remaining: 5 - i, reset: 4))   // one too high, Reset the length
        }
        #expect(pacer.style == .slidingLog)
        clock.now = 100.5
        #expect(abs(pacer.delayBeforeNextRequest() - (104 + RateLimitPacer.slidingSlack - 100.5)) < 1e-9)
        clock.now = 104.05
        #expect(pacer.delayBeforeNextRequest() == 0, "the first send has left the window")
    }

    @Test("a 429 without Retry-After is 2.4.x; with one it is a fixed window")
    func styleFrom429() {
        let old = RateLimitPacer(clock: { 100 })
        _ = old.delayAfter429(reply(429, limit: 5, remaining: 0, reset: 4))
        #expect(old.style == .slidingLog)
        let new = RateLimitPacer(clock: { 100 })
        #expect(new.delayAfter429(reply(429, limit: 5, remaining: 0, reset: 3, retryAfter: 3)) == 3)
        #expect(new.style == .unknown)
    }

    @Test("fixed window (2.7): the boundary comes from the first reply, not from a rounded Reset")
    func fixedWindowPhase() {
        let clock = Clock()
        let pacer = RateLimitPacer(clock: { clock.now })
        clock.now = 100.1
        pacer.observe(reply(limit: 5, remaining: 4, reset: 4))   // opened the window: it ends at 104.1 at the latest
        for (i, remaining) in [3, 2, 1, 0].enumerated() {
            clock.now = 100.2 + Double(i) * 0.1
            pacer.observe(reply(limit: 5, remaining: remaining, reset: 4))
        }
        clock.now = 101
        #expect(abs(pacer.delayBeforeNextRequest() - (104.1 + 0.005 - 101)) < 1e-9, "not 100.5 + 4")
        // A later Reset that disagrees rules the phase out: back to Reset.
        clock.now = 104.2
        pacer.observe(reply(limit: 5, remaining: 0, reset: 2))
        clock.now = 104.3
        #expect(abs(pacer.delayBeforeNextRequest() - (106.2 - 104.3)) < 1e-9)
    }
}
