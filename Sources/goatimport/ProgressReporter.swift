import Foundation
import GoatImportCore

/// Shows how an upload is going: the status line (a bar on a terminal, `STATUS=` under
/// systemd), redrawn every second so that a rate-limit wait counts down under the bar, and a
/// log line every `interval` seconds when stderr is not a terminal (systemd, CI). Progress is
/// the acknowledged share of the input bytes (what the server has confirmed, not what was
/// parsed); with several sites (each uploading on its own thread) the least advanced site's.
/// The time left counts the waits: once a rate-limit window has been seen, hits go at the pace
/// the server allows over a whole window, not at the speed of a burst.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private var laneDone: [Int64]
    private var laneSummaries: [UploadSummary]
    private var laneWaits: [UploadWaits]
    private let totalBytes: Int64
    private let inputSizes: [Int64]
    private let started = RateLimitPacer.monotonic()
    private var lastLog: Double
    private let interval: TimeInterval
    private var doneBytesBeforeInput: [Int64]
    private let line = StatusLine.shared

    /// `sizes`: each input's (decompressed, estimated for gzip) size; 0 when unknown (stdin).
    init(sizes: [Int64], lanes: Int = 1, interval: TimeInterval = 30) {
        laneDone = [Int64](repeating: 0, count: lanes)
        laneSummaries = [UploadSummary](repeating: UploadSummary(), count: lanes)
        laneWaits = [UploadWaits](repeating: UploadWaits(now: started), count: lanes)
        inputSizes = sizes
        totalBytes = sizes.reduce(0, +)
        var running: Int64 = 0
        doneBytesBeforeInput = sizes.map { size in defer { running += size }; return running }
        self.interval = interval
        lastLog = started
        line.start { [weak self] in self?.content(now: RateLimitPacer.monotonic()) ?? (nil, "", "") }
    }

    /// An input's size for progress: a gzip file's trailer holds its uncompressed size (mod 4 GiB).
    static func estimatedSize(_ path: String) -> Int64 {
        guard !StreamInputs.isStream(path), let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        let head = handle.readData(ofLength: 2)
        let size = (try? handle.seekToEnd()).map { Int64($0) } ?? 0
        guard head.count == 2, head[head.startIndex] == 0x1f, head[head.startIndex + 1] == 0x8b, size >= 4 else { return size }
        try? handle.seek(toOffset: UInt64(size - 4))
        let trailer = handle.readData(ofLength: 4)
        guard trailer.count == 4 else { return size }
        let isize = trailer.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return max(isize, size)
    }

    func handle(_ event: Uploader.Event, lane: Int = 0, inputs: [String]) {
        let now = RateLimitPacer.monotonic()
        switch event {
        case .acknowledged(let batch, let summary):
            lock.lock()
            if let last = batch.lastPosition, last.input < inputSizes.count {
                laneDone[lane] = doneBytesBeforeInput[last.input] + min(last.endOffset, inputSizes[last.input])
            }
            laneSummaries[lane] = summary
            laneWaits[lane].acknowledged()
            let logNow = !line.isTerminal && now - lastLog >= interval
            if logNow { lastLog = now }
            lock.unlock()
            if logNow { printError("goatimport: " + content(now: now).text) }
        case .waiting(let seconds, let until, let reason):
            lock.lock()
            laneWaits[lane].waiting(until: until, reason: reason, sent: laneSummaries[lane].sent, now: now)
            lock.unlock()
            if line.isTerminal {
                line.refresh()
            } else if seconds >= 2 {
                printError(String(format: "goatimport: waiting %.0f s (%@)", seconds, reason))
            }
        case .notice(let message):
            printError("goatimport: \(message)")
        case .hitRejected(let input, let line, let message):
            printError("goatimport: \(inputs[input]):\(line): the server rejected the hit: \(message)")
        }
    }

    /// The status: acknowledged share, hits sent, time left, and what the upload waits for.
    func content(now: Double) -> StatusLine.Content {
        lock.lock(); defer { lock.unlock() }
        var sent = 0
        for s in laneSummaries { sent += s.sent }
        let done = laneDone.min() ?? 0
        let fraction = totalBytes > 0 ? min(1, Double(done) / Double(totalBytes)) : 0
        let percent = String(format: "%.0f%%", fraction * 100), hits = grouped(sent)
        var parts = [percent, "\(hits) \(noun(sent, "hit")) sent"], short = [percent, "\(hits) sent"]
        if let left = secondsLeft(sent: sent, fraction: fraction, now: now).map(Self.duration) {
            parts.append(left + " left")
            short.append(left + " left")
        }
        if let wait = laneWaits.compactMap({ $0.text(now: now) }).first { parts.append(wait) }
        if let wait = laneWaits.compactMap({ $0.text(now: now, short: true) }).first { short.append(wait) }
        return (fraction, parts.joined(separator: ", "), short.joined(separator: ", "))
    }

    /// Hits left (extrapolated from the acknowledged share) at the pace the server allows, plus
    /// what remains of the current wait.
    private func secondsLeft(sent: Int, fraction: Double, now: Double) -> Double? {
        let elapsed = now - started
        guard fraction > 0.001, fraction < 1, sent > 0, elapsed > 0 else { return nil }
        let hitsLeft = Double(sent) / fraction * (1 - fraction)
        var rate = Double(sent) / elapsed
        if let allowed = laneWaits.compactMap(\.allowedRate).min() { rate = min(rate, allowed) }
        let waitLeft = laneWaits.map { $0.secondsLeft(now: now) }.max() ?? 0
        return waitLeft + hitsLeft / rate
    }

    /// Removes the line (before the summary).
    func clearLine() { line.stop() }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s / 60 % 60) min"
    }
}
