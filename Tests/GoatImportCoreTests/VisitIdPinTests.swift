import Foundation
import Testing
@testable import GoatImportCore

/// Visit ids are saved nowhere but sent to GoatCounter, and a resumed import continues the visits
/// of the previous release: for the same secret, visitor and start they must never change. The
/// expected values are those of the release before the visit table was rewritten (16 bytes a
/// visit, ids recomputed), checked against its binary and an independent SipHash-2-4.
struct VisitIdPinTests {
    static let secret = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

    func id(_ tracker: SessionTracker, _ ip: String, _ ua: String, _ t: Int) -> String {
        var ip = Array(ip.utf8), ua = Array(ua.utf8)
        return ip.withUnsafeMutableBytes { i in
            ua.withUnsafeMutableBytes { u in
                String(decoding: tracker.session(ip: UnsafeRawBufferPointer(i), userAgent: UnsafeRawBufferPointer(u), time: t), as: UTF8.self)
            }
        }
    }

    @Test("a visit keeps the id of the previous release: first hit, a later hit, a new visit after the gap")
    func pinnedIds() {
        let tracker = SessionTracker(secret: Self.secret)
        let t0 = 1_761_955_200
        let a = id(tracker, "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", t0)
        let b = id(tracker, "2001:db8::1", "", t0 + 5)
        let a2 = id(tracker, "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", t0 + 8 * 3600)
        let a3 = id(tracker, "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", t0 + 16 * 3600 + 1)
        let old = id(tracker, "198.51.100.1", "curl/8.0", -86400)
        #expect(a == "271690c1b1a82112")
        #expect(b == "8142d11b98ea81b3")
        #expect(a2 == a)
        #expect(a3 == "620ed6b9c68e6ed1")
        #expect(old == "b08b7c06d818ca47")
    }

    @Test("many visitors through table growth and pruning give the previous release's ids")
    func pinnedManyVisitors() {
        let tracker = SessionTracker(secret: Self.secret, gap: 1800)
        var digest = SipHash(key: (1, 2))
        var rng = SplitMix(seed: 7)
        var t = 1_700_000_000
        for _ in 0..<60_000 {
            t += rng.next() % 3
            let visitor = rng.next() % 20_000
            let s = id(tracker, "10.0.\(visitor / 256).\(visitor % 256)", "UA \(visitor % 7)", t)
            Array(s.utf8).withUnsafeBytes { digest.add($0) }
        }
        let value = digest.finish()
        #expect(String(value, radix: 16) == "85a6d862e3705942")
    }

    @Test("visits loaded from a sessions file of the previous release continue with its ids")
    func pinnedAfterLoad() throws {
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("sessions.json").path
        let first = SessionTracker(secret: Self.secret)
        let a = id(first, "192.0.2.9", "Safari", 1_761_955_200)
        try first.save(to: path)
        let second = SessionTracker(secret: Self.secret)
        try second.load(from: path)
        #expect(id(second, "192.0.2.9", "Safari", 1_761_955_200 + 3600) == a)
        #expect(a == "d46c930afead1714")
    }
}
