// The cost of visits per hit, in ns: the visitor's keyed hash (IP and user agent) and the visit
// lookup with its id, apart and together, on hits shaped like scripts/generate-log.py's (a new
// random IP on every line, six browsers, 20 hits a second). A benchmark, not a test: best of 5.
// Usage: swift run -c release bench-visits [HITS]
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GoatImportCore

let hits = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 2_000_000 : 2_000_000
let agents = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
].map { Array($0.utf8) }

// Every hit's IP and user agent, side by side in one buffer, as the parser hands them over.
var rng = SystemRandomNumberGenerator()
var bytes: [UInt8] = []
var fields: [(ip: Range<Int>, ua: Range<Int>, time: Int)] = []
bytes.reserveCapacity(hits * 120)
for i in 0..<hits {
    let ip = Array("\(Int.random(in: 1..<224, using: &rng)).\(Int.random(in: 0..<256, using: &rng)).\(Int.random(in: 0..<256, using: &rng)).\(Int.random(in: 1..<255, using: &rng))".utf8)
    let ua = agents[Int.random(in: 0..<agents.count, using: &rng)]
    let a = bytes.count
    bytes += ip
    let b = bytes.count
    bytes += ua
    fields.append((a..<b, b..<bytes.count, 1_761_955_200 + i / 20))
}
let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
}

/// Best of 5 runs of `body` over every hit, in ns per hit.
func best(_ body: (SessionTracker, UnsafeRawBufferPointer) -> UInt64) -> (ns: Double, check: UInt64) {
    var best = Double.infinity, check: UInt64 = 0
    for _ in 0..<5 {
        let tracker = SessionTracker(secret: secret)
        let t0 = now()
        check = bytes.withUnsafeBytes { body(tracker, $0) }
        best = min(best, (now() - t0) / Double(hits))
    }
    return (best, check)
}

var visitors = [UInt64](repeating: 0, count: hits)
let hash = best { tracker, raw in
    var sum: UInt64 = 0
    for (i, f) in fields.enumerated() {
        visitors[i] = tracker.visitor(ip: UnsafeRawBufferPointer(rebasing: raw[f.ip]), userAgent: UnsafeRawBufferPointer(rebasing: raw[f.ua]))
        sum &+= visitors[i]
    }
    return sum
}
var open = 0
let visit = best { tracker, _ in
    var sum: UInt64 = 0
    for (i, f) in fields.enumerated() { sum &+= UInt64(tracker.session(visitor: visitors[i], time: f.time)[0]) }
    open = tracker.openVisits
    return sum
}
// As the lane merge does: each slot warmed this many lookups ahead.
let group = Int(ProcessInfo.processInfo.environment["WARM_AHEAD"] ?? "8") ?? 8
let warmed = best { tracker, _ in
    var sum: UInt64 = 0
    for j in 0..<min(group, fields.count) { tracker.warm(visitors[j]) }
    for j in fields.indices {
        if j + group < fields.count { tracker.warm(visitors[j + group]) }
        sum &+= UInt64(tracker.session(visitor: visitors[j], time: fields[j].time)[0])
    }
    return sum
}
let both = best { tracker, raw in
    var sum: UInt64 = 0
    for f in fields {
        sum &+= UInt64(tracker.session(ip: UnsafeRawBufferPointer(rebasing: raw[f.ip]), userAgent: UnsafeRawBufferPointer(rebasing: raw[f.ua]), time: f.time)[0])
    }
    return sum
}
print("\(hits) hits, \(open) visits open at the end")
print(String(format: "visitor hash (IP, user agent)   %6.1f ns/hit", hash.ns))
print(String(format: "visit lookup and id             %6.1f ns/hit", visit.ns))
print(String(format: "visit lookup, warmed by %-3d      %6.1f ns/hit", group, warmed.ns))
print(String(format: "both (SessionTracker.session)   %6.1f ns/hit", both.ns))

// Saving the open visits (sessions.json, at every acknowledged batch of a real run): a million
// open visits, the time of one save and how far it raises the peak RSS above the table's.
func peakKB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}
let saver = SessionTracker(secret: secret)
for k in 0..<1_000_000 { _ = saver.session(visitor: UInt64(k) &* 0x9E37_79B9_7F4A_7C15, time: 1_761_955_200 + k / 50) }
let savePath = NSTemporaryDirectory() + "bench-visits-sessions-\(getpid()).json"
let before = peakKB(), t0 = now()
try saver.save(to: savePath)
let saveSeconds = (now() - t0) / 1e9
print(String(format: "save of %d open visits          %6.2f s, peak RSS +%.1f MB (%.1f MB file)", saver.openVisits, saveSeconds,
             Double(peakKB() - before) / 1024, Double((try? FileManager.default.attributesOfItem(atPath: savePath)[.size] as? Int) ?? 0) / 1e6))
let beforeLoad = peakKB(), t1 = now()
let loader = SessionTracker(secret: secret)
try loader.load(from: savePath)
print(String(format: "load of %d open visits          %6.2f s, peak RSS +%.1f MB", loader.openVisits, (now() - t1) / 1e9,
             Double(peakKB() - beforeLoad) / 1024))
unlink(savePath)
