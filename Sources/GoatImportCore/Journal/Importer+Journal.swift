import Foundation

extension Importer {
    /// Reads journal entries from where `journal` stands, each entry's MESSAGE a line, to the
    /// end, or with `follow` until it is stopped, waiting on the journal for new entries. Entry
    /// *n* of the run has the position (line *n*, offset *n*); its cursor goes into `cursors`,
    /// where an acknowledgement of position *n* finds it.
    public func run(journal: JournalReader, cursors: CursorTable, into sink: HitSink, follow stop: StopSignal? = nil,
                    flushAfter: Double = 5) throws -> ImportSummary {
        let started = DispatchTime.now().uptimeNanoseconds
        var summary = ImportSummary()
        summary.files = 1
        var pv = Pageview()
        let name = "journal"
        // Without a unit or identifier every program's entries come: those that are not access
        // lines are expected, not malformed.
        let others: SkipReason? = journal.selection.units.isEmpty && journal.selection.identifiers.isEmpty ? .otherEntry : nil
        var sequence = 0
        var batchStarted: Double?
        let following = sink as? FollowingSink
        while !(stop?.isStopped ?? false) {
            guard try journal.next() else {
                guard stop != nil else { break }
                try following?.flush()
                batchStarted = nil
                journal.wait(seconds: 1)
                continue
            }
            guard let message = journal.message() else { continue }
            sequence += 1
            journal.recordCursor(sequence, in: cursors)
            let count = message.count > 0 && message[message.count - 1] == 0x0A ? message.count - 1 : message.count
            if count > options.maxLineLength {
                summary.lines += 1
                summary[.tooLong] += 1
                try sink.didSkipLine(at: LinePosition(input: 0, line: sequence, endOffset: Int64(sequence)), reason: .tooLong)
                continue
            }
            let line = Line(base: message.baseAddress ?? Self.empty, count: count, number: sequence, endOffset: Int64(sequence))
            // nginx logs its errors under the access log's identifier, at their own priorities.
            try process(line, input: 0, name: name, into: sink, summary: &summary, pageview: &pv,
                        unparsed: journal.priority() <= 4 ? .errorLog : others)
            summary.bytes += Int64(count + 1)
            if let following {
                let now = RateLimitPacer.monotonic()
                if batchStarted == nil { batchStarted = now }
                if let s = batchStarted, now - s >= flushAfter { try following.flush(); batchStarted = nil }
            }
        }
        try sink.didFinishInput(0)
        try sink.finish()
        finishSummary(&summary)
        summary.elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return summary
    }

    private static let empty: UnsafePointer<UInt8> = UnsafePointer(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))
}
