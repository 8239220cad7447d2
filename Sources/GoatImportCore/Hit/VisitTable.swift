/// Open visits by visitor hash, in 16 bytes each so that a million open visits fit in about
/// 25 MB. The visitor hash is the key; a visit's id is not stored but recomputed from the key and
/// the start, which costs less than the memory it would take.
///
/// 256 shards by the hash's top byte, each an open-addressing table with linear probing that
/// grows by half when three-quarters full (after dropping visits idle past the gap): a shard
/// grows alone, so growing needs room for one shard twice, not the whole table. Its size follows
/// the number of visitors in one gap of log time, not the length of the log.
final class VisitTable {
    /// Times are seconds relative to the first one stored: a log spans less than 68 years.
    /// Key 0 marks an empty slot (a visitor hash of 0 is stored as 1).
    struct Entry {
        var key: UInt64 = 0
        var start: Int32 = 0
        var last: Int32 = 0
    }

    /// One shard's slots; an `Entry` pointer into it stays valid until its next `rebuild`. A
    /// struct behind a pointer, freed by the table: a class here cost a retain and a release
    /// per hit.
    struct Shard {
        var entries: UnsafeMutablePointer<Entry>
        var capacity: Int
        var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            entries = .allocate(capacity: capacity)
            entries.initialize(repeating: Entry(), count: capacity)
        }

        /// The home slot: the key's bits below the shard byte, scaled to the capacity.
        @inline(__always) func home(_ key: UInt64) -> Int {
            Int(truncatingIfNeeded: (key << 8).multipliedFullWidth(by: UInt64(capacity)).high)
        }

        @inline(__always) func find(_ key: UInt64) -> UnsafeMutablePointer<Entry> {
            var i = home(key)
            while true {
                let e = entries + i
                if e.pointee.key == key || e.pointee.key == 0 { return e }
                i += 1
                if i == capacity { i = 0 }
            }
        }

        /// Rehashes into `newCapacity` slots, leaving out visits last seen before `cutoff`.
        mutating func rebuild(keepingLastFrom cutoff: Int32, capacity newCapacity: Int) {
            let old = entries, oldCapacity = capacity
            capacity = newCapacity
            entries = .allocate(capacity: newCapacity)
            entries.initialize(repeating: Entry(), count: newCapacity)
            count = 0
            for j in 0..<oldCapacity where old[j].key != 0 && old[j].last >= cutoff {
                find(old[j].key).pointee = old[j]
                count += 1
            }
            old.deallocate()
        }

        func live(since cutoff: Int32) -> Int {
            var n = 0
            for j in 0..<capacity where entries[j].key != 0 && entries[j].last >= cutoff { n += 1 }
            return n
        }
    }

    private let shards: UnsafeMutablePointer<Shard>
    private var base: Int?

    init() {
        shards = .allocate(capacity: 256)
        for i in 0..<256 { (shards + i).initialize(to: Shard(capacity: 16)) }
    }

    deinit {
        for i in 0..<256 { shards[i].entries.deallocate() }
        shards.deallocate()
    }

    private var all: UnsafeMutableBufferPointer<Shard> { UnsafeMutableBufferPointer(start: shards, count: 256) }
    var count: Int { all.reduce(0) { $0 + $1.count } }
    var capacity: Int { all.reduce(0) { $0 + $1.capacity } }

    @inline(__always) static func stored(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    /// Seconds since the first stored time, clamped (the clamp only touches a log spanning more
    /// than 68 years).
    @inline(__always) func relative(_ time: Int) -> Int32 {
        let b = base ?? time
        if base == nil { base = time }
        let (d, overflow) = time.subtractingReportingOverflow(b)
        return overflow ? (time < b ? Int32.min : Int32.max) : Int32(clamping: d)
    }

    @inline(__always) func absolute(_ time: Int32) -> Int { (base ?? 0) + Int(time) }

    /// The entry holding `key`, or the empty slot where it goes (its key 0), valid until the
    /// next call. A full shard first drops visits last seen before `cutoff`, then grows.
    func entry(for rawKey: UInt64, dropIdleBefore cutoff: Int) -> UnsafeMutablePointer<Entry> {
        let key = VisitTable.stored(rawKey)
        let shard = shards + Int(truncatingIfNeeded: key >> 56)
        if (shard.pointee.count + 1) * 4 > shard.pointee.capacity * 3 {
            let keep = relativeCutoff(cutoff)
            let live = shard.pointee.live(since: keep)
            // Still over half full with only open visits: grow by half.
            let old = shard.pointee.capacity
            shard.pointee.rebuild(keepingLastFrom: keep, capacity: (live + 1) * 2 > old ? old + old / 2 : old)
        }
        return shard.pointee.find(key)
    }

    /// Loads the home slot of `rawKey` and returns its key, for `warm`: a caller that loads the
    /// slots of many visitors in a tight loop keeps their cache misses in flight together, where
    /// lookups one by one wait for each miss in turn (most new visitors miss the cache).
    @inline(__always) func touch(_ rawKey: UInt64) -> UInt64 {
        let key = VisitTable.stored(rawKey)
        let shard = shards + Int(truncatingIfNeeded: key >> 56)
        return shard.pointee.entries[shard.pointee.home(key)].key
    }

    /// Stores a new visit in the empty slot `entry` returned for `rawKey`.
    func insert(_ e: UnsafeMutablePointer<Entry>, key rawKey: UInt64, start: Int, last: Int) {
        let key = VisitTable.stored(rawKey)
        if e.pointee.key == 0 { shards[Int(truncatingIfNeeded: key >> 56)].count += 1 }
        e.pointee = Entry(key: key, start: relative(start), last: relative(last))
    }

    private func relativeCutoff(_ cutoff: Int) -> Int32 {
        guard let base else { return Int32.min }
        // Saturating: a cutoff of Int.min (nothing dropped, as when loading) is far below any base.
        let (d, overflow) = cutoff.subtractingReportingOverflow(base)
        return overflow ? (cutoff < base ? Int32.min : Int32.max) : Int32(clamping: d)
    }

    /// Drops every visit last seen before `cutoff`, keeping each shard's capacity.
    func prune(dropIdleBefore cutoff: Int) {
        let keep = relativeCutoff(cutoff)
        for i in 0..<256 { shards[i].rebuild(keepingLastFrom: keep, capacity: shards[i].capacity) }
    }

    /// Every open visit as (visitor hash, start, last).
    func forEach(_ body: (UInt64, Int, Int) -> Void) {
        for shard in all {
            for j in 0..<shard.capacity where shard.entries[j].key != 0 {
                let e = shard.entries[j]
                body(e.key, absolute(e.start), absolute(e.last))
            }
        }
    }
}
