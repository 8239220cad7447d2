import Foundation
import GoatImportCore

/// Shows how an upload is going: a one-line bar on a terminal, a log line every `interval`
/// seconds otherwise (systemd, CI). Progress is measured in acknowledged input bytes; with
/// several sites (each uploading on its own thread) it is the least advanced site's.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSRecursiveLock()   // handle() clears the line too
    private var laneDone: [Int64]
    private var laneSummaries: [UploadSummary]
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let totalBytes: Int64
    private let inputSizes: [Int64]
    private let started = Date()
    private var lastDraw = Date.distantPast
    private let interval: TimeInterval
    private var doneBytesBeforeInput: [Int64]
    private var lastLineWidth = 0

    /// `sizes`: each input's (decompressed, estimated for gzip) size; 0 when unknown (stdin).
    init(sizes: [Int64], lanes: Int = 1, interval: TimeInterval = 30) {
        laneDone = [Int64](repeating: 0, count: lanes)
        laneSummaries = [UploadSummary](repeating: UploadSummary(), count: lanes)
        inputSizes = sizes
        totalBytes = sizes.reduce(0, +)
        var running: Int64 = 0
        doneBytesBeforeInput = sizes.map { size in defer { running += size }; return running }
        self.interval = interval
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
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .acknowledged(let batch, let summary):
            if let last = batch.lastPosition, last.input < inputSizes.count {
                laneDone[lane] = doneBytesBeforeInput[last.input] + min(last.endOffset, inputSizes[last.input])
            }
            laneSummaries[lane] = summary
            var total = UploadSummary()
            for s in laneSummaries { total.add(s) }
            draw(done: laneDone.min() ?? 0, summary: total, note: nil, force: false)
        case .waiting(let seconds, _, let reason):
            if seconds >= 2 {
                if isTerminal {
                    redraw(String(format: "waiting %.0f s (%@)", seconds, reason))
                } else {
                    printError(String(format: "goatimport: waiting %.0f s (%@)", seconds, reason))
                }
            }
        case .notice(let message):
            clearLine()
            printError("goatimport: \(message)")
        case .hitRejected(let input, let line, let message):
            clearLine()
            printError("goatimport: \(inputs[input]):\(line): the server rejected the hit: \(message)")
        }
    }

    private func draw(done: Int64, summary: UploadSummary, note: String?, force: Bool) {
        let now = Date()
        let every = isTerminal ? 0.25 : interval
        guard force || now.timeIntervalSince(lastDraw) >= every else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(summary.sent) / elapsed
        let fraction = totalBytes > 0 ? min(1, Double(done) / Double(totalBytes)) : 0
        var left = ""
        if fraction > 0.001 && fraction < 1 && rate > 0 {
            let remainingHits = Double(summary.sent) / fraction * (1 - fraction)
            left = ", " + Self.duration(remainingHits / rate) + " left"
        }
        if isTerminal {
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            redraw(String(format: "[%@] %3.0f%% %@ hits sent, %.0f hits/s%@", bar, fraction * 100, grouped(summary.sent), rate, left))
        } else {
            printError(String(format: "goatimport: %.0f%% done, %@ hits sent, %.0f hits/s%@", fraction * 100, grouped(summary.sent), rate, left))
        }
    }

    private func redraw(_ text: String) {
        let padded = text.count < lastLineWidth ? text + String(repeating: " ", count: lastLineWidth - text.count) : text
        lastLineWidth = text.count
        FileHandle.standardError.write(Data(("\r" + padded).utf8))
    }

    func clearLine() {
        lock.lock(); defer { lock.unlock() }
        guard isTerminal, lastLineWidth > 0 else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: lastLineWidth) + "\r").utf8))
        lastLineWidth = 0
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s / 60 % 60) min"
    }
}
