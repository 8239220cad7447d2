#if canImport(Glibc)
import Glibc
#endif
import CIntrinsics

/// Open visits by visitor, in 8 bytes each so that a million open visits fit in about 11 MB
/// (and the visits open in a busy gap stay in a core's cache). A visit's id is not stored but
/// recomputed from the visitor hash and the start, which costs less than the memory it would take.
///
/// 256 shards by the hash's top byte, each an open-addressing table with linear probing that
/// grows by a quarter when four-fifths full (after dropping visits idle past the gap): a shard
/// grows alone, so growing needs room for one shard twice, not the whole table. Its size follows
/// the number of visitors in one gap of log time, not the length of the log. A new visit takes
/// the slot of an idle one on its probe path when there is one, so a shard whose visitors come
/// and go fills, and is rebuilt, less often.
///
/// An entry is one word: the hash's low 32 bits (its tag, which also places it in its shard),
/// the visit's last time as seconds into a window of 2^17 s (36 hours) of log time, and its
/// length (last minus start) in 15 bits (9 hours). The window moves forward with the log,
/// dropping the visits idle past the gap as any prune does. A visit that does not fit (a longer
/// visit, a time before the window from a log read out of order, a gap longer than the window)
/// keeps its times exactly in `overflow`, its entry marked: rare input costs memory, never a
/// wrong time.
///
/// So a visitor is known by 40 bits of its hash, the shard byte and the tag. A new visitor that
/// agrees in those 40 bits with one whose visit is open shares that visit's times, never its id
/// (the id hashes the whole visitor), so the two visits end together. That happens to one new
/// visitor in 2^40 / (open visits): one in a million at a million open visits, one in a hundred
/// million at 10,000. Keeping all 64 bits took 12 bytes an entry; an error of this size is far
/// below what the gap rule itself guesses about people.
final class VisitTable {
    /// 64 bits: the tag in bits 0–31, the length in bits 32–46, `lastOffset` in bits 47–63.
    /// `lastOffset` is the last time minus the window's start plus one, so 0 marks an empty slot.
    struct Entry {
        var bits: UInt64 = 0

        @inline(__always) var tag: UInt32 { UInt32(truncatingIfNeeded: bits) }
        @inline(__always) var isEmpty: Bool { bits >> VisitTable.offsetShift == 0 }
        @inline(__always) var lastOffset: Int { Int(truncatingIfNeeded: bits >> VisitTable.offsetShift) }
        @inline(__always) var length: Int { Int(truncatingIfNeeded: bits >> 32) & VisitTable.lengthMask }
        /// Its times are in `overflow`.
        @inline(__always) var isOverflow: Bool { length == VisitTable.lengthMask }

        @inline(__always) init() {}

        @inline(__always) init(tag: UInt32, lastOffset: Int, length: Int) {
            bits = UInt64(lastOffset) << VisitTable.offsetShift | UInt64(length) << 32 | UInt64(tag)
        }
    }

    static let lengthBits = 15
    static let lengthMask = 1 << lengthBits - 1
    static let offsetShift = UInt64(32 + lengthBits)
    /// Offsets 1..<windowSize fit (0 is the empty slot).
    static let windowSize = 1 << (64 - 32 - lengthBits)
    /// The window moves at most once per this much log time, so that a gap too long for it
    /// sends visits to `overflow` instead of rebuilding the table on every hit.
    static let windowStep = windowSize / 2

    /// A visitor's slot as `find` left it: its visit's times when `found`.
    struct Slot {
        let entry: UnsafeMutablePointer<Entry>
        let found: Bool
        let start: Int
        let last: Int
    }

    /// One shard's slots; a pointer into it stays valid until its next rebuild. A struct behind
    /// a pointer, freed by the table: a class here cost a retain and a release per hit.
    struct Shard {
        var entries: UnsafeMutablePointer<Entry>
        var capacity: Int
        var count = 0
        /// At most the earliest last time of its visits: when the cutoff is not past it, a full
        /// shard has nothing to drop and grows at once.
        var oldest = Int.max

        init(capacity: Int) {
            self.capacity = capacity
            entries = .allocate(capacity: capacity)
            entries.initialize(repeating: Entry(), count: capacity)
        }

        /// The home slot: the tag scaled to the capacity.
        @inline(__always) func home(_ tag: UInt32) -> Int {
            Int(truncatingIfNeeded: (UInt64(tag) &* UInt64(capacity)) >> 32)
        }

        /// The slot holding `tag`, or the slot a new visit of it goes to: the first on its probe
        /// path whose compact visit was last seen before offset `cut` (idle past the gap: a
        /// prune would drop it), else the empty slot that ends the path. Reusing idle slots on
        /// the way keeps every other tag's path whole, and spares some rebuilds of a shard
        /// whose visitors come and go.
        @inline(__always) func find(_ tag: UInt32, reusingBelow cut: Int) -> (entry: UnsafeMutablePointer<Entry>, found: Bool) {
            var i = home(tag)
            var idle: UnsafeMutablePointer<Entry>?
            while true {
                let e = entries + i
                if e.pointee.isEmpty { return (idle ?? e, false) }
                if e.pointee.tag == tag { return (e, true) }
                if idle == nil, e.pointee.lastOffset < cut, !e.pointee.isOverflow { idle = e }
                i += 1
                if i == capacity { i = 0 }
            }
        }

        /// The slot a tag not in the shard goes to (rebuilds move each tag once).
        @inline(__always) func emptySlot(_ tag: UInt32) -> Int {
            var i = home(tag)
            while !entries[i].isEmpty {
                i += 1
                if i == capacity { i = 0 }
            }
            return i
        }
    }

    private let shards: UnsafeMutablePointer<Shard>
    private let gap: Int
    /// The log time at offset 1; nil until the first visit.
    private var window: Int?
    /// Exact times of the visits whose entries are marked overflow.
    private var overflow: [UInt64: (start: Int, last: Int)] = [:]

    init(gap: Int) {
        self.gap = gap
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
    var overflowCount: Int { overflow.count }

    @inline(__always) private static func shardIndex(_ key: UInt64) -> Int { Int(truncatingIfNeeded: key >> 56) }
    @inline(__always) private static func tag(_ key: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: key) }
    /// The 40 bits a visitor is known by, as `forEach` reports it and `overflow` keys it.
    @inline(__always) static func known(_ key: UInt64) -> UInt64 { key & 0xFF00_0000_FFFF_FFFF }
    @inline(__always) private static func known(shard: Int, _ tag: UInt32) -> UInt64 { UInt64(shard) << 56 | UInt64(tag) }

    /// The visit's times, read against `window`; nil for an empty slot.
    @inline(__always) private func times(_ e: Entry, shard: Int, window: Int) -> (start: Int, last: Int)? {
        if e.isEmpty { return nil }
        if e.isOverflow { return overflow[VisitTable.known(shard: shard, e.tag)] }
        let last = window + e.lastOffset - 1
        return (last - e.length, last)
    }

    /// The entry of a visit against `window`, its times put in `overflow` when they do not fit.
    @inline(__always) private func entry(_ key: UInt64, start: Int, last: Int, window: Int) -> Entry {
        let (length, o1) = last.subtractingReportingOverflow(start)
        let (d, o2) = last.subtractingReportingOverflow(window)
        if !o1, !o2, length >= 0, length < VisitTable.lengthMask, d >= 0, d < VisitTable.windowSize - 1 {
            return Entry(tag: VisitTable.tag(key), lastOffset: d + 1, length: length)
        }
        overflow[VisitTable.known(key)] = (start, last)
        return Entry(tag: VisitTable.tag(key), lastOffset: 1, length: VisitTable.lengthMask)
    }

    /// The slot of `key`, with its visit when there is one. `time` (the hit's, at most the
    /// newest) moves the window forward; a full shard first drops visits last seen before
    /// `cutoff`, then grows. The slot is valid until the next call.
    func find(_ key: UInt64, at time: Int, dropIdleBefore cutoff: Int) -> Slot {
        if window == nil { window = time.subtractingReportingOverflow(gap).overflow ? time : time - gap }
        let (d, o) = time.subtractingReportingOverflow(window!)
        if !o, d >= VisitTable.windowSize - 1, cutoff > window!, cutoff.subtractingReportingOverflow(window!).partialValue >= VisitTable.windowStep {
            rebuildAll(dropIdleBefore: cutoff, window: cutoff)
        }
        let w = window!
        let s = VisitTable.shardIndex(key)
        let shard = shards + s
        if (shard.pointee.count + 1) * 5 > shard.pointee.capacity * 4 {
            // Four-fifths full: drop the idle visits; if over half remain, grow by a quarter.
            // Either way over a fifth of the slots is then free for new visits, and a log whose
            // visitors come and go rebuilds a shard only after new visits filled 30 % of it.
            let old = shard.pointee.capacity
            if cutoff > shard.pointee.oldest { rebuild(s, keepingLastFrom: cutoff, capacity: old, window: w) }
            if (shard.pointee.count + 1) * 2 > old { rebuild(s, keepingLastFrom: cutoff, capacity: old + old / 4, window: w) }
        }
        let (e, found) = shard.pointee.find(VisitTable.tag(key), reusingBelow: VisitTable.offsetCut(cutoff, window: w))
        if found, let t = times(e.pointee, shard: s, window: w) { return Slot(entry: e, found: true, start: t.start, last: t.last) }
        return Slot(entry: e, found: false, start: 0, last: 0)
    }

    /// Hints the cache to load the home slot of `key`, for `SessionTracker.warm`.
    @inline(__always) func prefetch(_ key: UInt64) {
        let shard = shards + VisitTable.shardIndex(key)
        goat_prefetch(shard.pointee.entries + shard.pointee.home(VisitTable.tag(key)))
    }

    /// Stores the visit of `key` in the slot `find` returned for it.
    func store(_ slot: Slot, key: UInt64, start: Int, last: Int) {
        let e = slot.entry
        let shard = shards + VisitTable.shardIndex(key)
        if e.pointee.isEmpty { shard.pointee.count += 1 } else if e.pointee.isOverflow { overflow[VisitTable.known(key)] = nil }
        shard.pointee.oldest = min(shard.pointee.oldest, last)
        e.pointee = entry(key, start: start, last: last, window: window!)
    }

    /// The smallest `lastOffset` of a visit last seen at or after `cutoff`, clamped to the
    /// offsets an entry holds: a compact entry is then checked without decoding it.
    @inline(__always) private static func offsetCut(_ cutoff: Int, window: Int) -> Int {
        let (d, o) = cutoff.subtractingReportingOverflow(window)
        if o { return cutoff < window ? 0 : windowSize }
        return d >= windowSize ? windowSize : max(d + 1, 0)
    }

    /// Rehashes shard `s` into `newCapacity` slots, leaving out visits last seen before
    /// `cutoff`, their times written against `newWindow`. When the window stays, compact
    /// entries move as they are.
    private func rebuild(_ s: Int, keepingLastFrom cutoff: Int, capacity newCapacity: Int, window newWindow: Int) {
        let shard = shards + s
        let old = shard.pointee, oldWindow = window ?? 0
        let cut = VisitTable.offsetCut(cutoff, window: oldWindow), moves = newWindow != oldWindow
        var new = Shard(capacity: newCapacity)
        var oldestOffset = Int.max
        for j in 0..<old.capacity {
            let e = old.entries[j]
            if e.isEmpty { continue }
            if !moves && !e.isOverflow {
                if e.lastOffset >= cut {
                    new.entries[new.emptySlot(e.tag)] = e
                    new.count += 1
                    oldestOffset = min(oldestOffset, e.lastOffset)
                }
                continue
            }
            guard let t = times(e, shard: s, window: oldWindow) else { continue }
            let key = VisitTable.known(shard: s, e.tag)
            if e.isOverflow { overflow[key] = nil }
            guard t.last >= cutoff else { continue }
            new.entries[new.emptySlot(e.tag)] = entry(key, start: t.start, last: t.last, window: newWindow)
            new.count += 1
            new.oldest = min(new.oldest, t.last)
        }
        if oldestOffset != Int.max { new.oldest = min(new.oldest, oldWindow + oldestOffset - 1) }
        shard.pointee = new
        old.entries.deallocate()
        if newCapacity > old.capacity { returnFreedSlots(grown: newCapacity - old.capacity) }
    }

    /// Slots added since freed shards were last given back to the system.
    private var grownSinceTrim = 0

    /// Shards grow in step (the hash spreads visitors evenly), and each growth frees the
    /// shard's old slots inside the heap, where the larger new ones cannot reuse them. Each time
    /// the table has grown by a thirty-second (and at least 256 KB), the free pages go back to
    /// the system: a million open visits peak at 1 MB less (39.9 → 38.9 MB, four runs each).
    private func returnFreedSlots(grown: Int) {
        grownSinceTrim += grown
        guard grownSinceTrim * MemoryLayout<Entry>.stride >= 1 << 18, grownSinceTrim * 32 >= capacity else { return }
        grownSinceTrim = 0
        VisitTable.mallocTrim?(0)
    }

    /// glibc's `malloc_trim` (not in Swift's Glibc module), nil elsewhere.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let f = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(f, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// Rebuilds every shard; the window moves once all are written against the new one.
    private func rebuildAll(dropIdleBefore cutoff: Int, window newWindow: Int) {
        for i in 0..<256 { rebuild(i, keepingLastFrom: cutoff, capacity: shards[i].capacity, window: newWindow) }
        window = newWindow
    }

    /// Drops every visit last seen before `cutoff`, keeping each shard's capacity.
    func prune(dropIdleBefore cutoff: Int) {
        guard let w = window else { return }
        rebuildAll(dropIdleBefore: cutoff, window: w)
    }

    /// Every open visit as (the 40 bits its visitor is known by, start, last).
    func forEach(_ body: (UInt64, Int, Int) -> Void) {
        for s in 0..<256 {
            let shard = shards[s]
            for j in 0..<shard.capacity {
                let e = shard.entries[j]
                if let t = times(e, shard: s, window: window ?? 0) { body(VisitTable.known(shard: s, e.tag), t.start, t.last) }
            }
        }
    }
}
