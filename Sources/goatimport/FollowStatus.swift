import Foundation
import GoatImportCore

/// `--follow`'s status line: logs followed, hits sent, when the last hit was acknowledged,
/// and what it waits for (new lines, or the server). Shown on a terminal and as systemd's
/// `STATUS=` (see `StatusLine`).
final class FollowStatus: @unchecked Sendable {
    private let lock = NSLock()
    private var logs = 0
    private var sent: [Int]
    private var lastHit: time_t?
    private var waits: [UploadWaits]

    init(lanes: Int) {
        sent = [Int](repeating: 0, count: lanes)
        waits = [UploadWaits](repeating: UploadWaits(now: RateLimitPacer.monotonic()), count: lanes)
    }

    func startedFollowing() { lock.lock(); logs += 1; lock.unlock() }

    func handle(_ event: Uploader.Event, lane: Int) {
        let now = RateLimitPacer.monotonic()
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .acknowledged(let batch, let summary):
            if summary.sent > sent[lane] && batch.hitCount > 0 { lastHit = time(nil) }
            sent[lane] = summary.sent
            waits[lane].acknowledged()
        case .waiting(_, let until, let reason):
            waits[lane].waiting(until: until, reason: reason, sent: sent[lane], now: now)
        case .hitRejected, .notice:
            break
        }
    }

    func content() -> StatusLine.Content {
        let now = RateLimitPacer.monotonic()
        lock.lock(); defer { lock.unlock() }
        let total = sent.reduce(0, +)
        var parts = ["following \(counted(logs, "log"))", "\(counted(total, "hit")) sent"]
        var short = [counted(logs, "log"), "\(grouped(total)) sent"]
        if let lastHit {
            var t = tm()
            var seconds = lastHit
            gmtime_r(&seconds, &t)
            let clock = String(format: "%02d:%02d:%02d", t.tm_hour, t.tm_min, t.tm_sec)
            parts.append("last at \(clock) UTC")
            short.append("last \(clock)")
        }
        parts.append(waits.compactMap { $0.text(now: now) }.first ?? "waiting for new lines")
        short.append(waits.compactMap { $0.text(now: now, short: true) }.first ?? "idle")
        return (nil, parts.joined(separator: ", "), short.joined(separator: ", "))
    }
}
