import Foundation

/// A stop request shared by the threads of a run (set by SIGINT/SIGTERM), and a wait that a
/// stop interrupts: rate-limit pauses and backoff sleep on it, so a signal never waits them out.
public final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    public init() {}

    public var isStopped: Bool {
        condition.lock(); defer { condition.unlock() }
        return stopped
    }

    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits up to `seconds`; returns false when stopped first.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard seconds > 0 else { return !isStopped }
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock(); defer { condition.unlock() }
        while !stopped {
            if !condition.wait(until: deadline) { return true }
        }
        return false
    }
}
