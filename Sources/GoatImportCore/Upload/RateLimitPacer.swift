import Foundation

/// Paces one server limiter from its rate-limit headers and from when this client sent.
///
/// Two server generations, told apart by their headers:
/// - **Fixed window** (GoatCounter 2.7): `X-Rate-Limit-Reset` counts down to the moment every
///   token comes back; send while `Remaining` says there are tokens, then wait `Reset`. No
///   guessing: a server with a raised limit is never slowed down.
/// - **Sliding log** (GoatCounter 2.4.x): the server keeps the times of the last requests of the
///   client's IP, for every `/api/v0` endpoint together, and a request passes while fewer than
///   `Limit` of them are younger than the window. `Reset` is the window's length, always, and
///   `Remaining` counts the request it answers. Waiting `Reset` after the window fills would
///   waste most of it: the client keeps its own log of send times (`SendLog`, shared by all its
///   pacers) and waits only until the oldest one leaves the window.
///
/// The sliding style is recognised by a `Remaining` equal to `Limit` on a reply that passed (a
/// fixed window has spent a token by then), or by the same `Reset` on replies spread over more
/// than a second (a fixed window's would have counted down). A 429 is the truth either way.
public final class RateLimitPacer {
    public private(set) var limit: Int?
    public private(set) var remaining: Int?
    /// What the server's replies have shown so far, shared by the pacers of one client.
    public var style: SendLog.Style { log.style }
    /// The window's length in seconds, as far as the replies have told it.
    public private(set) var window: Double?
    private var resetAt: Double?     // monotonic seconds
    /// The first reply of a run of replies that all carried the same Reset: (time, Reset).
    private var sameResetSince: (at: Double, reset: Double)?
    /// A fixed window's boundaries, `origin + k·length`, learnt when this pacer's first request
    /// opened a window (its reply: one token spent, `Reset` the window's length). `Reset` is
    /// whole seconds, so waiting it out arrives up to a second early, a 429 every window; the
    /// origin is when that first reply arrived, no earlier than the window's start, so a
    /// boundary computed from it is never early. Checked against every later `Reset`, dropped
    /// at the first disagreement or 429.
    private var phase: (origin: Double, length: Double)?
    private var phaseRuledOut = false
    private var replies = 0
    /// Added to a fixed window's `Reset` without a phase, after a 429 showed it was early.
    private var earlyMargin = 0.0
    public let log: SendLog
    private let clock: () -> Double

    /// The server writes whole seconds of its own clock; a little slack keeps the client from
    /// arriving the instant before an entry expires there.
    static let slidingSlack = 0.01

    public init(log: SendLog = SendLog(), clock: @escaping () -> Double = RateLimitPacer.monotonic) {
        self.log = log
        self.clock = clock
    }

    public static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Seconds to wait before the next request (0: go).
    public func delayBeforeNextRequest() -> Double {
        let now = clock()
        if style == .slidingLog, let limit, let window {
            guard let free = log.timeWhenFewerThan(limit, within: window, now: now) else { return 0 }
            return max(0, free + Self.slidingSlack - now)
        }
        guard let remaining, remaining <= 0, let resetAt else { return 0 }
        var target = resetAt + earlyMargin
        if let phase {
            target = phase.origin + ((resetAt - phase.origin) / phase.length).rounded() * phase.length + 0.005
        }
        let wait = target - now
        if wait <= 0 {
            self.remaining = nil   // the window has turned over; the next reply tells the new state
            return 0
        }
        return wait
    }

    /// Stops waiting for the window the last reply announced: the next reply tells the state.
    public func forgetWindow() {
        remaining = nil
        resetAt = nil
    }

    /// Records that a request was answered now: the server logged it no later than this.
    public func didSend() { log.record(clock()) }

    /// Reads the headers of any reply that passed the limiter.
    public func observe(_ response: HTTPResponse) {
        let now = clock()
        if let l = Self.number(response, "X-Rate-Limit-Limit").map(Int.init) { limit = l }
        let r = Self.number(response, "X-Rate-Limit-Remaining").map(Int.init)
        if let r { remaining = r }
        guard let reset = Self.number(response, "X-Rate-Limit-Reset") else { return }
        resetAt = now + max(0, reset)
        if style == .slidingLog { window = reset }
        learnPhase(now: now, remaining: r, reset: reset)
        guard style == .unknown, reset > 0 else { return }
        if let r, let limit, r >= limit {
            log.style = .slidingLog   // a fixed window has spent a token by now
        } else if let since = sameResetSince, since.reset == reset {
            // Spread over more than a second, yet too little for a fixed window to have turned over.
            let spread = now - since.at
            if spread > 1.5 && spread < reset - 1 { log.style = .slidingLog }
        } else {
            if sameResetSince != nil { log.style = .fixedWindow }
            sameResetSince = (now, reset)
        }
        if style == .slidingLog { window = reset }
    }

    private func learnPhase(now: Double, remaining: Int?, reset: Double) {
        replies += 1
        guard style != .slidingLog, !phaseRuledOut else { return }
        if let p = phase {
            let expected = p.origin + ((now + reset - p.origin) / p.length).rounded() * p.length - now
            if abs(expected - reset) > 1.1 { ruleOutPhase() }
        } else if replies == 1, let remaining, let limit, remaining == limit - 1, reset >= 1 {
            phase = (now, reset)
        } else {
            phaseRuledOut = true
        }
    }

    private func ruleOutPhase() {
        phase = nil
        phaseRuledOut = true
    }

    /// How long a 429 asks us to wait: `Retry-After`, else what the client's own log says on a
    /// sliding-log server, else `X-Rate-Limit-Reset` (2.4.x has no `Retry-After` and sends the
    /// window's length there: a whole window is always enough), and never less than a moment,
    /// so that a `0` cannot make a busy loop.
    public func delayAfter429(_ response: HTTPResponse) -> Double {
        let now = clock()
        if let l = Self.number(response, "X-Rate-Limit-Limit").map(Int.init) { limit = l }
        let retryAfter = Self.number(response, "Retry-After")
        let reset = Self.number(response, "X-Rate-Limit-Reset")
        // Only 2.4.x answers a 429 without Retry-After.
        if retryAfter == nil, reset != nil, style == .unknown { log.style = .slidingLog }
        if style == .slidingLog, let reset { window = reset }
        var wait = retryAfter ?? reset ?? 5
        if retryAfter == nil, style == .slidingLog, let limit, let window = reset ?? window,
           let free = log.timeWhenFewerThan(limit, within: window, now: now) {
            // Only when the log explains the refusal: requests of other clients on the same
            // address are not in it, and then the whole window is the safe answer.
            wait = free + Self.slidingSlack - now
        }
        if retryAfter != nil || style == .fixedWindow {
            if phase != nil { ruleOutPhase() } else { earlyMargin = min(1, earlyMargin + 0.5) }
        }
        wait = max(wait, 0.25)
        remaining = 0
        resetAt = now + wait
        return wait
    }

    static func number(_ response: HTTPResponse, _ name: String) -> Double? {
        guard let text = response.header(name), let value = Double(text.trimmingCharacters(in: .whitespaces)),
              value.isFinite else { return nil }
        return value
    }
}

/// When one client's requests were answered, newest last, and which style of limiter the
/// server showed: GoatCounter 2.4.x counts every API request of an address in one log, so the
/// pacers of all its limiters share one.
public final class SendLog: @unchecked Sendable {
    public enum Style: Sendable { case unknown, fixedWindow, slidingLog }

    private let lock = NSLock()
    private var times: [Double] = []
    private var _style = Style.unknown

    public var style: Style {
        get { lock.lock(); defer { lock.unlock() }; return _style }
        set { lock.lock(); _style = newValue; lock.unlock() }
    }

    public init() {}

    public func record(_ time: Double) {
        lock.lock(); defer { lock.unlock() }
        times.append(time)
        // A window longer than an hour is not a rate limit a backfill paces to.
        if times.count > 4096 || (times.first.map { time - $0 > 3600 } ?? false) {
            times.removeAll { time - $0 > 3600 }
            if times.count > 4096 { times.removeFirst(times.count - 4096) }
        }
    }

    /// When fewer than `limit` entries will be younger than `window`, or nil when that is now.
    public func timeWhenFewerThan(_ limit: Int, within window: Double, now: Double) -> Double? {
        lock.lock(); defer { lock.unlock() }
        let live = times.drop { now - $0 >= window }
        guard limit > 0, live.count >= limit else { return nil }
        // The entry whose expiry leaves limit - 1 behind it.
        return live[live.startIndex + (live.count - limit)] + window
    }
}
