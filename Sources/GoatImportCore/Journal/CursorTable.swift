import Foundation

/// The cursors of the entries read and not yet acknowledged, by the entry's sequence number in
/// this run. The reader appends on its thread; an acknowledgement (on the uploader's) takes the
/// cursor of the last entry a batch covered and forgets the ones before it. Cursors are kept as
/// bytes in one buffer: no String per entry.
public final class CursorTable: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = ByteBuffer(capacity: 1 << 16)
    private var entries: [(sequence: Int, start: Int, count: Int)] = []
    private var first = 0   // entries before it are forgotten

    public init() {}

    func append(_ sequence: Int, _ cursor: UnsafePointer<CChar>) {
        let n = strlen(cursor)
        lock.lock(); defer { lock.unlock() }
        entries.append((sequence, bytes.count, n))
        cursor.withMemoryRebound(to: UInt8.self, capacity: n) { bytes.append($0, count: n) }
    }

    /// The cursor of entry `sequence`, forgetting it and the entries before it; nil when unknown.
    public func take(_ sequence: Int) -> String? {
        lock.lock(); defer { lock.unlock() }
        var lo = first, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].sequence < sequence { lo = mid + 1 } else { hi = mid }
        }
        guard lo < entries.count, entries[lo].sequence == sequence else { return nil }
        let e = entries[lo]
        let cursor = String(decoding: UnsafeBufferPointer(start: bytes.base + e.start, count: e.count), as: UTF8.self)
        first = lo + 1
        if first == entries.count {
            entries.removeAll(keepingCapacity: true)
            bytes.removeAll()
            first = 0
        } else if first > 4096 && first * 2 > entries.count {
            // The reader stays ahead of the acknowledgements: drop what is behind them.
            let start = entries[first].start
            memmove(bytes.base, bytes.base + start, bytes.count - start)
            bytes.count -= start
            entries.removeFirst(first)
            for i in entries.indices { entries[i].start -= start }
            first = 0
        }
        return cursor
    }
}
