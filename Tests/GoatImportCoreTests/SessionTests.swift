import Foundation
import Testing
@testable import GoatImportCore

struct SessionTrackerTests {
    @Test("SipHash-2-4 matches the reference vector")
    func sipHashVector() {
        var h = SipHash(key: (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908))
        let message = [UInt8](0..<15)
        message.withUnsafeBytes { h.add($0) }
        #expect(h.finish() == 0xa129_ca61_49be_45e5)
    }

    @Test("a visit ends after the gap in log time; the id reveals neither IP nor user agent")
    func visits() {
        let tracker = SessionTracker(secret: [UInt8](repeating: 7, count: 32), gap: 8 * 3600)
        func id(_ ip: String, _ ua: String, _ t: Int) -> String {
            ip.utf8CString.withUnsafeBytes { ipRaw in
                ua.utf8CString.withUnsafeBytes { uaRaw in
                    String(decoding: tracker.session(ip: UnsafeRawBufferPointer(rebasing: ipRaw.dropLast()),
                                                     userAgent: UnsafeRawBufferPointer(rebasing: uaRaw.dropLast()), time: t), as: UTF8.self)
                }
            }
        }
        let a1 = id("203.0.113.1", "Firefox", 0)
        #expect(id("203.0.113.1", "Firefox", 3600) == a1)
        #expect(id("203.0.113.1", "Firefox", 3600 + 8 * 3600) == a1, "exactly the gap: same visit")
        #expect(id("203.0.113.1", "Firefox", 3600 + 16 * 3600 + 1) != a1, "quiet for longer: a new visit")
        #expect(id("203.0.113.1", "Chrome", 0) != a1)
        #expect(id("203.0.113.2", "Firefox", 0) != a1)
        #expect(a1.count == 16 && !a1.contains("203"))
    }
}

/// Sessions end to end: a multi-day log into the test server, compared with an independent count.
@Suite(.serialized)
struct SessionRunTests {
    let dir = TestPaths.tempDir()

    /// Three days of visits from 12 visitors with random gaps (some over 8 hours), one line each.
    func makeLog() -> (text: String, lines: [(ip: String, ua: String, time: Int)]) {
        var rng = SplitMix(seed: 42)
        var lines: [(String, String, Int)] = []
        let start = Timestamp.daysFromCivil(2026, 10, 1) * 86400
        for visitor in 0..<12 {
            var t = start + Int(rng.next() % 7200)
            while t < start + 3 * 86400 {
                lines.append(("198.51.100.\(visitor % 6 + 1)", "Mozilla/5.0 Visitor\(visitor / 6)", t))
                // Mostly minutes apart, sometimes a long break (3 to 20 hours).
                t += rng.next() % 5 == 0 ? 3 * 3600 + Int(rng.next() % (17 * 3600)) : 60 + Int(rng.next() % 1800)
            }
        }
        lines.sort { $0.2 < $1.2 }
        let text = lines.map { l -> String in
            let d = Timestamp.civilFromDays(l.2 / 86400)
            let s = l.2 % 86400
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            let time = String(format: "%02d/%@/%04d:%02d:%02d:%02d +0000", d.day, months[d.month - 1], d.year, s / 3600, s / 60 % 60, s % 60)
            return "\(l.0) - - [\(time)] \"GET /p\(l.2 % 97) HTTP/1.1\" 200 5 \"-\" \"\(l.1)\"\n"
        }.joined()
        return (text, lines)
    }

    /// The independent count: per visitor, a new visit when more than 8 hours passed.
    func expectedVisits(_ lines: [(ip: String, ua: String, time: Int)]) -> Int {
        var last: [String: Int] = [:]
        var visits = 0
        for l in lines {
            let key = l.ip + "|" + l.ua
            if let previous = last[key], l.time - previous <= 8 * 3600 {} else { visits += 1 }
            last[key] = l.time
        }
        return visits
    }

    @Test("distinct sessions sent equal an independent count of visits, also when the import is split over two runs")
    func multiDay() throws {
        let (text, lines) = makeLog()
        let expected = expectedVisits(lines)
        #expect(expected > 24, "the log has visits split by long breaks")
        let server = try TestServer(["--ratelimit", "api-count:none", "--ratelimit", "api:none"])
        var env = ProcessInfo.processInfo.environment
        env["GOATCOUNTER_API_KEY"] = "test-key"
        let log = dir.appendingPathComponent("access.log").path
        let state = dir.appendingPathComponent("state/state.json").path
        // First half, then (appended) the rest: the second run continues the open visits.
        let all = text.split(separator: "\n", omittingEmptySubsequences: true)
        let half = all.count / 2
        try (all[..<half].joined(separator: "\n") + "\n").write(toFile: log, atomically: true, encoding: .utf8)
        #expect(try run(TestPaths.binary, ["--site", server.url, "--state", state, log], environment: env).status == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((all[half...].joined(separator: "\n") + "\n").utf8))
        try handle.close()
        #expect(try run(TestPaths.binary, ["--site", server.url, "--state", state, log], environment: env).status == 0)
        let hits = try server.hits()
        #expect(hits.count == lines.count)
        let sessions = Set(hits.compactMap { $0["session"] as? String })
        #expect(sessions.count == expected, "sessions \(sessions.count), independent count \(expected)")
        // The server groups by them: its visit ids agree.
        #expect(Set(hits.compactMap { $0["session_id"].map { "\($0)" } }).count == expected)
        // --sessions off leaves grouping to the server: no session key is sent.
        let off = try run(TestPaths.binary, ["--dry-run", "--sessions", "off", log], environment: env)
        #expect(!off.stdout.contains("\"session\""))
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
    }
}

struct SipHashTests {
    @Test("word-at-a-time hashing equals byte-at-a-time for every split")
    func splits() {
        let message = [UInt8](0..<40)
        var reference = SipHash(key: (1, 2))
        for b in message { reference.add(byte: b) }
        let want = reference.finish()
        for cut in 0...message.count {
            var h = SipHash(key: (1, 2))
            message[..<cut].withUnsafeBytes { h.add($0) }
            message[cut...].withUnsafeBytes { h.add($0) }
            #expect(h.finish() == want, "cut at \(cut)")
        }
    }
}

struct VisitTableTests {
    static func key(_ k: Int) -> UInt64 { UInt64(k) &* 0x9E37_79B9_7F4A_7C15 }

    @Test("the table keeps every open visit through growth and drops only idle ones")
    func growth() {
        let table = VisitTable(gap: 100)
        for k in 1...100_000 {
            let slot = table.find(Self.key(k), at: k, dropIdleBefore: k - 100)
            #expect(!slot.found)
            table.store(slot, key: Self.key(k), start: k, last: k)
        }
        // Keys idle since before 99,900 may have been dropped; the last 100 must all be there.
        for k in 99_901...100_000 {
            let slot = table.find(Self.key(k), at: 100_000, dropIdleBefore: 99_900)
            #expect(slot.found && slot.start == k && slot.last == k)
        }
        #expect(table.capacity <= 16_384, "size follows open visits, not all visitors ever seen")
    }

    /// The table against a dictionary, through SessionTracker's rule: new visitors and returning
    /// ones, hits up to two gaps out of order (before the window: overflow), and jumps that move
    /// the window. Slots of idle visits are reused and shards rebuilt all along.
    @Test("against a dictionary: an open visit is found with its times, an idle one's slot never lends its times to another")
    func model() {
        for seed in 1...4 {
            var rng = SplitMix(seed: UInt64(seed))
            let gap = 1000
            let table = VisitTable(gap: gap)
            var model: [UInt64: (start: Int, last: Int)] = [:]
            var newest = 1_761_955_200, fresh = 0, overflowed = false
            for _ in 0..<100_000 {
                newest += rng.next() % 2000 == 0 ? 150_000 : rng.next() % 3
                let t = rng.next() % 50 == 0 ? newest - rng.next() % (2 * gap) : newest
                // 5 %: one of 20 hot visitors; 55 %: one of the last 2,000 new ones; else a new one.
                let roll = rng.next() % 100
                let k: Int
                if roll < 5 {
                    k = 1 + rng.next() % 20
                } else if roll < 60, fresh > 0 {
                    k = 21 + max(fresh - 2000, 0) + rng.next() % min(fresh, 2000)
                } else {
                    k = 21 + fresh
                    fresh += 1
                }
                let key = Self.key(k), cutoff = newest - gap
                let slot = table.find(key, at: t, dropIdleBefore: cutoff)
                let m = model[VisitTable.known(key)]
                if let m, m.last >= cutoff {
                    #expect(slot.found && slot.start == m.start && slot.last == m.last, "seed \(seed): visitor \(k) lost")
                }
                if slot.found {
                    #expect(m != nil && slot.start == m!.start && slot.last == m!.last, "seed \(seed): visitor \(k) got times not its own")
                }
                var v = (start: t, last: t)
                if slot.found, t - slot.last <= gap, t >= slot.start - gap { v = (slot.start, max(slot.last, t)) }
                table.store(slot, key: key, start: v.start, last: v.last)
                model[VisitTable.known(key)] = v
                overflowed = overflowed || table.overflowCount > 0
            }
            var seen: [UInt64: (Int, Int)] = [:]
            table.forEach { key, start, last in
                #expect(seen[key] == nil, "one entry per visitor")
                seen[key] = (start, last)
            }
            #expect(table.count == seen.count)
            #expect(seen.allSatisfy { model[$0.key]! == $0.value })
            #expect(model.filter { $0.value.last >= newest - gap }.allSatisfy { seen[$0.key] != nil })
            #expect(overflowed, "some times did not fit an entry")
            table.prune(dropIdleBefore: Int.max)
            #expect(table.count == 0 && table.overflowCount == 0, "every visit and overflow record goes with its slot")
        }
    }

    @Test("a visit last seen exactly a gap ago keeps its slot; a second later a new visitor reuses it")
    func idleSlotReuse() {
        let gap = 1000, t0 = 1_761_955_200
        let table = VisitTable(gap: gap)
        // One shard, adjacent tags: the three visitors share a probe path.
        let a: UInt64 = 0x0100_0000_0000_1000, b = a + 1, c = a + 2
        table.store(table.find(a, at: t0, dropIdleBefore: t0 - gap), key: a, start: t0, last: t0)
        let t = t0 + gap
        let slotB = table.find(b, at: t, dropIdleBefore: t - gap)
        #expect(!slotB.found)
        table.store(slotB, key: b, start: t, last: t)
        let slotA = table.find(a, at: t, dropIdleBefore: t - gap)
        #expect(slotA.found && slotA.start == t0 && slotA.last == t0, "still open: its next hit continues it")
        let slotC = table.find(c, at: t + 1, dropIdleBefore: t + 1 - gap)
        #expect(!slotC.found)
        table.store(slotC, key: c, start: t + 1, last: t + 1)
        #expect(table.count == 2, "c took a's slot")
        #expect(!table.find(a, at: t + 1, dropIdleBefore: t + 1 - gap).found)
        let again = table.find(c, at: t + 1, dropIdleBefore: t + 1 - gap)
        #expect(again.found && again.start == t + 1)
    }

    @Test("a million open visits take at most 12 MB of slots, and every one is found again")
    func millionOpen() {
        let table = VisitTable(gap: 8 * 3600)
        let t0 = 1_761_955_200
        for k in 1...1_000_000 {
            let t = t0 + k / 50
            table.store(table.find(Self.key(k), at: t, dropIdleBefore: t0 - 1), key: Self.key(k), start: t, last: t)
        }
        #expect(table.count == 1_000_000)
        #expect(table.overflowCount == 0)
        #expect(MemoryLayout<VisitTable.Entry>.stride == 8)
        #expect(table.capacity * MemoryLayout<VisitTable.Entry>.stride <= 12 << 20)
        var found = 0
        for k in stride(from: 1, through: 1_000_000, by: 997) {
            let slot = table.find(Self.key(k), at: t0 + 20_000, dropIdleBefore: t0 - 1)
            if slot.found, slot.start == t0 + k / 50 { found += 1 }
        }
        #expect(found == (1_000_000 - 1) / 997 + 1)
    }

    /// The times that do not fit an entry: a visit longer than its 15 bits, a hit from before
    /// the window (a log read out of order), times near Int's ends, a window moved forward by a
    /// jump in log time, and a gap longer than the window. Each must come back exactly.
    @Test("times that do not fit 8 bytes come back exactly, through growth, window moves and prunes")
    func overflowTimes() {
        for gap in [8 * 3600, 8784 * 3600] {
            let table = VisitTable(gap: gap)
            let t0 = 1_761_955_200
            var want: [UInt64: (Int, Int)] = [:]
            func put(_ k: Int, _ start: Int, _ last: Int, at now: Int) {
                let slot = table.find(Self.key(k), at: now, dropIdleBefore: Int.min)
                table.store(slot, key: Self.key(k), start: start, last: last)
                want[VisitTable.known(Self.key(k))] = (start, last)
            }
            put(1, t0, t0, at: t0)
            put(2, t0 - 300 * 86400, t0 + 10, at: t0 + 10)          // a visit of 300 days
            put(3, t0 - 400 * 86400, t0 - 400 * 86400, at: t0)      // before the window
            put(4, Int.min + 5, Int.min + 5, at: t0)                 // untrusted extremes
            put(5, Int.max - 5, Int.max - 5, at: t0)
            put(6, t0 + 1, t0 + 1 + VisitTable.lengthMask - 1, at: t0 + 1)  // the longest visit that fits
            put(6 + 1, t0 + 1, t0 + 1 + VisitTable.lengthMask, at: t0 + 1)  // one second longer
            for k in 100..<5000 { put(k, t0 + k, t0 + k, at: t0 + k) }  // growth rebuilds every shard
            // A visit first compact, then longer than 15 bits: it moves to the overflow.
            put(1, t0, t0 + 400_000, at: t0 + 400_000)
            for (key, v) in want {
                let slot = table.find(key, at: t0 + 400_000, dropIdleBefore: Int.min)
                #expect(slot.found && slot.start == v.0 && slot.last == v.1, "gap \(gap), key \(key)")
            }
            #expect(table.count == want.count)
            #expect(table.overflowCount == (gap > VisitTable.windowSize ? want.count : 6), "only the visits that do not fit overflow")
            // 100 days later: the window moves and drops every visit idle past the gap, overflow
            // records too; a visit continued then is found with its old start.
            let later = t0 + 100 * 86400
            let slot = table.find(Self.key(5), at: later, dropIdleBefore: later - gap)
            table.store(slot, key: Self.key(5), start: Int.max - 5, last: Int.max - 5)
            let fresh = table.find(Self.key(9999), at: later, dropIdleBefore: later - gap)
            table.store(fresh, key: Self.key(9999), start: later, last: later)
            table.prune(dropIdleBefore: later - gap)
            var seen: [UInt64: (Int, Int)] = [:]
            table.forEach { key, start, last in seen[key] = (start, last) }
            let expected = want.merging([VisitTable.known(Self.key(9999)): (later, later)]) { a, _ in a }.filter { $0.value.1 >= later - gap }
            #expect(seen.count == expected.count && expected.allSatisfy { seen[$0.key]! == $0.value }, "gap \(gap)")
            #expect(table.overflowCount == (gap > VisitTable.windowSize ? expected.count : 1))
        }
    }

    @Test("a visit open when the window moves keeps its times, written against the new window")
    func windowMove() {
        let gap = 8 * 3600
        let table = VisitTable(gap: gap)
        let t0 = 1_761_955_200
        let first = table.find(Self.key(1), at: t0, dropIdleBefore: t0 - gap)
        table.store(first, key: Self.key(1), start: t0, last: t0)
        // The window starts a gap before the first time; this is the last second it holds.
        let t1 = t0 - gap + VisitTable.windowSize - 2
        let open = table.find(Self.key(2), at: t1, dropIdleBefore: t1 - gap)
        table.store(open, key: Self.key(2), start: t1 - 3600, last: t1)
        // One step later the window moves: the first visit is idle and goes, the second stays.
        let t2 = t1 + 200
        let slot = table.find(Self.key(2), at: t2, dropIdleBefore: t2 - gap)
        #expect(slot.found && slot.start == t1 - 3600 && slot.last == t1)
        #expect(!table.find(Self.key(1), at: t2, dropIdleBefore: t2 - gap).found)
        #expect(table.count == 1 && table.overflowCount == 0)
    }
}

struct SessionsFileTests {
    /// The previous release reads `sessions.json` with `JSONDecoder` into `Saved`: the file
    /// written straight from the table must decode there to exactly the open visits.
    @Test("sessions.json written from the table decodes as the Codable file: every hash length, negative and far-past times")
    func savedFormat() throws {
        let tracker = SessionTracker(secret: VisitIdPinTests.secret, gap: 8 * 3600)
        let t0 = 1_761_955_200
        let hits: [(UInt64, Int)] = [(0, t0), (1, t0 + 1), (0xF, t0), (0x10, t0), (UInt64.max, t0 + 5),
                                     (0x0123_4567_89AB_CDEF, -86_400), (0xFEDC_BA98_7654_3210, -(1 << 40)),
                                     (1, t0 + 3600), (0x10, t0 + 7)]
        for (visitor, time) in hits { _ = tracker.session(visitor: visitor, time: time) }
        let saved = try JSONDecoder().decode(SessionTracker.Saved.self, from: tracker.savedJSON())
        #expect(saved.version == 1 && saved.gap == 8 * 3600)
        // Each visitor as the 40 bits the table knows it by: the top byte and the low 32 bits.
        let want: [String: [Int]] = [
            "0": [t0, t0], "1": [t0 + 1, t0 + 3600], "f": [t0, t0], "10": [t0, t0 + 7],
            "ff000000ffffffff": [t0 + 5, t0 + 5], "100000089abcdef": [-86_400, -86_400],
            "fe00000076543210": [-(1 << 40), -(1 << 40)],
        ]
        #expect(saved.visits == want)
        let empty = try JSONDecoder().decode(SessionTracker.Saved.self, from: SessionTracker(secret: VisitIdPinTests.secret).savedJSON())
        #expect(empty.visits.isEmpty)
    }

    static func visits(_ tracker: SessionTracker) throws -> [String: [Int]] {
        try JSONDecoder().decode(SessionTracker.Saved.self, from: tracker.savedJSON()).visits
    }

    /// Files of the previous release (JSONEncoder, compact or pretty-printed, members in any
    /// order) and of this one load the same visits, by the in-place reader or JSONDecoder.
    @Test("sessions.json of every writer loads the same visits; shapes the reader does not know go to JSONDecoder")
    func loadEveryShape() throws {
        let t0 = 1_761_955_200
        let want: [String: [Int]] = ["0": [t0, t0], "ffffffffffffffff": [t0 - 50, t0 + 9], "123abc": [-86_400, -86_400]]
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("sessions.json").path
        let plain = JSONEncoder(), pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys]
        let codable = SessionTracker.Saved(gap: 3600, visits: want)
        // Saved again, each visitor as the 40 bits the table knows it by.
        let saved = ["0": want["0"]!, "ff000000ffffffff": want["ffffffffffffffff"]!, "123abc": want["123abc"]!]
        var files = [try plain.encode(codable), try pretty.encode(codable),
                     Data("{\"visits\":{\"0\":[\(t0),\(t0)],\"FFFFFFFFFFFFFFFF\":[\(t0 - 50),\(t0 + 9)],\"123abc\":[-86400,-86400]},\"gap\":1,\"version\":1}".utf8)]
        let written = SessionTracker(secret: VisitIdPinTests.secret)
        try Data(files[0]).write(to: URL(fileURLWithPath: path))
        try written.load(from: path)
        files.append(written.savedJSON())
        for (n, file) in files.enumerated() {
            try file.write(to: URL(fileURLWithPath: path))
            let tracker = SessionTracker(secret: VisitIdPinTests.secret)
            try tracker.load(from: path)
            #expect(try Self.visits(tracker) == saved, "file \(n)")
        }
        // The in-place reader takes exactly the compact shape and leaves the rest.
        func reads(_ s: String) -> Bool {
            var bytes = Array(s.utf8)
            return bytes.withUnsafeMutableBytes { SavedVisitsReader.read(UnsafeRawBufferPointer($0)) { _, _, _ in } } != nil
        }
        #expect(reads("{\"version\":1,\"gap\":5,\"visits\":{}}"))
        #expect(reads("{\"version\":1,\"gap\":5,\"visits\":{\"a\":[1,-2]}}"))
        #expect(!reads("{\"version\":1, \"gap\":5,\"visits\":{}}"))
        #expect(!reads("{\"version\":2,\"gap\":5,\"visits\":{}}"))
        #expect(!reads("{\"gap\":5,\"visits\":{}}"))
        #expect(!reads("{\"version\":1,\"gap\":5,\"visits\":{}}x"))
        #expect(!reads("{\"version\":1,\"gap\":5,\"visits\":{\"11111111111111111\":[1,2]}}"))
        #expect(!reads("{\"version\":1,\"gap\":5,\"visits\":{\"a\":[1,2,3]}}"))
        #expect(!reads("{\"version\":1,\"gap\":5,\"visits\":{\"a\":[1,99999999999999999999]}}"))
        #expect(!reads("{\"version\":1,\"version\":1,\"gap\":5,\"visits\":{}}"))
        // An impossible time stops the load with the file's name, in either reader.
        for file in [Data("{\"version\":1,\"gap\":5,\"visits\":{\"a\":[1,\((1 << 40) + 1)]}}".utf8),
                     try pretty.encode(SessionTracker.Saved(gap: 5, visits: ["a": [1, (1 << 40) + 1]]))] {
            try file.write(to: URL(fileURLWithPath: path))
            #expect(throws: SessionTracker.SessionError.self) { try SessionTracker(secret: VisitIdPinTests.secret).load(from: path) }
        }
    }
}

struct VisitorBitsTests {
    /// The table knows a visitor by 40 bits of its hash. Two visitors that agree in them share
    /// one visit's times, but each keeps ids of its own: the id hashes the whole visitor.
    @Test("visitors alike in the 40 bits the table keeps share times, never ids")
    func alikeVisitors() {
        let tracker = SessionTracker(secret: VisitIdPinTests.secret, gap: 3600)
        let a: UInt64 = 0x12AB_CDEF_0123_4567, b = a ^ 0x00FF_FFFF_0000_0000
        let t0 = 1_761_955_200
        let first = Array(tracker.session(visitor: a, time: t0))
        let other = Array(tracker.session(visitor: b, time: t0 + 3000))
        #expect(first != other)
        // a was quiet for 5,000 s, longer than the gap, but b kept the shared times open.
        #expect(Array(tracker.session(visitor: a, time: t0 + 5000)) == first)
        #expect(tracker.openVisits == 1)
    }
}
