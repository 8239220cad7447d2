/// Exponential backoff with full jitter for transient failures (network errors, timeouts, 5xx).
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    public private(set) var attempt = 0

    public init(base: Double = 1, cap: Double = 60) {
        self.base = base
        self.cap = cap
    }

    /// The next delay: random in [d/2, d] with d = base·2^attempt, capped.
    public mutating func next() -> Double {
        let d = min(cap, base * Double(1 << min(attempt, 20)))
        attempt += 1
        return Double.random(in: (d / 2)...d)
    }

    public mutating func reset() { attempt = 0 }
}
