import Foundation

extension Importer {
    /// Reads journal entries from where `journal` stands, each entry's MESSAGE a line, to the
    /// end, or with `follow` until it is stopped, waiting on the journal for new entries. Entry
    /// *n* of the run has the position (line *n*, offset *n*); its cursor goes into `cursors`
    /// (one table per site of a site map, as each site acknowledges on its own), where an
    /// acknowledgement of position *n* finds it.
    ///
    /// With a site map, `resume` holds each site's acknowledged cursor, the reader standing
    /// after the oldest (`JournalReader.oldest`): a site's hits up to its own cursor are
    /// counted as already sent.
    public func run(journal: JournalReader, cursors: [CursorTable], resume: [String?] = [], into sink: HitSink,
                    follow stop: StopSignal? = nil, flushAfter: Double = 5) throws -> ImportSummary {
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
        // Sites ahead of the oldest cursor send nothing until the reader passes their own.
        let start = JournalReader.oldest(resume)
        var pending = resume.enumerated().compactMap { $0.element != nil && $0.element != start ? ($0.offset, $0.element!) : nil }
        if !pending.isEmpty {
            siteStarts[0] = resume.indices.map { s in pending.contains { $0.0 == s } ? Int64.max : 0 }
        }
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
            if !pending.isEmpty {
                pending.removeAll { site, cursor in
                    guard let reached = journal.reached(cursor) else { return false }
                    siteStarts[0]![site] = Int64(reached.at ? sequence : sequence - 1)
                    return true
                }
            }
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
