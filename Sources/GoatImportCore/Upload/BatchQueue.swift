import Foundation

/// A bounded hand-over between the parsing thread and the uploader: parsing runs ahead by at
/// most `capacity` batches and then waits, so memory stays flat however large the backlog.
public final class BatchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Batch] = []
    private let capacity: Int
    private var closed = false
    private var cancelled = false

    public init(capacity: Int = 4) { self.capacity = max(1, capacity) }

    public struct Cancelled: Error {}

    /// Blocks while full; throws when the consumer has gone.
    public func put(_ batch: Batch) throws {
        condition.lock(); defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { throw Cancelled() }
        items.append(batch)
        condition.broadcast()
    }

    /// The next batch, or nil once the producer has closed the queue and it is empty, or on cancel.
    public func take() -> Batch? {
        condition.lock(); defer { condition.unlock() }
        while items.isEmpty && !closed && !cancelled { condition.wait() }
        if cancelled || items.isEmpty { return nil }
        let batch = items.removeFirst()
        condition.broadcast()
        return batch
    }

    /// The producer is done.
    public func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }

    /// The consumer is done: wake and fail the producer; drop what is waiting.
    public func cancel() {
        condition.lock(); cancelled = true; items.removeAll(); condition.broadcast(); condition.unlock()
    }
}
