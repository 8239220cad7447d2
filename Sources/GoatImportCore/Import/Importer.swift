import Foundation

/// Reads inputs line by line and turns each into a hit or a counted skip: the whole parsing
/// pipeline, with no knowledge of where hits go.
public final class Importer {
    public struct Options {
        public var format: LogFormat
        public var filter = LineFilter.Options()
        public var timeZone = LogTimeZone.utc
        public var trustedProxies = TrustedProxies.loopbackAndPrivate
        public var maxLineLength = 64 * 1024
        /// Called for each malformed line (file, line number, reason, text); nil to stay quiet.
        public var onMalformed: ((String, Int, String, String) -> Void)?
        /// Called with a fatal-for-this-file input error (the import goes on with the next file).
        public var onInputError: ((String) -> Void)?
        /// Called with what the run should say but is no error (a checkpoint not used, and why).
        public var onNote: ((String) -> Void)?
        /// Checkpoints: each file resumes after the lines acknowledged in an earlier run, and the
        /// sink is told, before each line, where the checkpoint after it goes (`HitSink.note`).
        /// The caller saves the checkpoints of each acknowledged batch (`CheckpointStore.acknowledge`).
        /// Then a file a server may still be writing (`InputOrder.isLive`) holds back a last
        /// line without its newline until the next run; every other file ends at its last byte.
        /// nil: every input is read whole, unchecked (a dry run, `--no-state`).
        public var checkpoints: CheckpointStore?
        /// Visits from the log's timestamps (`session` in each hit); nil leaves them to the server.
        public var sessions: SessionTracker?
        /// Routes each line to a site by its host (`--site-map`); nil sends everything to one site.
        /// With checkpoints, each site has progress of its own in every file's checkpoint.
        public var siteMap: SiteMap?
        /// The wrapper of a container log around each line (`--container`).
        public var container = ContainerLog.none
        /// This many malformed lines in a row mean the format has stopped matching the log: the
        /// run stops (`FormatStoppedMatching`) before a checkpoint passes them, so a rerun with
        /// the right format still sends them. nil: every malformed line is counted and skipped.
        public var stopAfterMalformedInARow: Int?
        public init(format: LogFormat) { self.format = format }
    }

    public let options: Options
    private let parser: LineParser
    private let fields = ParsedFields()
    private let builder: PageviewBuilder
    private let filter: LineFilter
    private let encoder: HitEncoder
    private let directives: Bool
    /// Set with `Options.siteMap`: which site each host goes to, and the counts of the others.
    public let router: SiteRouter?
    /// With a site map and checkpoints: per input, each site's resume offset. A hit for site s
    /// in input i whose line ends at or before `siteStarts[i][s]` was acknowledged by that site
    /// in an earlier run. (The journal learns where a site resumes as it reads.)
    var siteStarts: [Int: [Int64]] = [:]
    private var siteHits: [Int] = []
    /// Set for `goatcounter-csv`: its records take their own path to the sink.
    private let exportRows: ExportRows?
    /// The malformed lines in a row just read (with `stopAfterMalformedInARow`): held back from
    /// the sink, so no checkpoint passes them until a good line shows the format still matches.
    private var malformedRun = MalformedRun()

    public init(options: Options) throws {
        self.options = options
        visitorHash = options.sessions?.visitorHash
        parser = try options.format.makeParser()
        builder = PageviewBuilder(timeZone: options.timeZone, trustedProxies: options.trustedProxies)
        filter = try LineFilter(options.filter)
        encoder = HitEncoder(escapes: parser.escapes, userAgentEscapes: options.format.userAgentEscapes)
        directives = options.format.directives
        router = options.siteMap.map(SiteRouter.init)
        siteHits = [Int](repeating: 0, count: options.siteMap?.sites.count ?? 0)
        exportRows = options.format.isGoatCounterCSV ? ExportRows() : nil
        if router != nil, try !options.format.fields().contains(.host) {
            throw FormatError.unsupported("--site-map routes by host, and the format \(options.format.name) has no host field (use combined-vhost, caddy, or a format with $host / %v)")
        }
    }

    /// Checks that every input can be opened before anything is sent: a typo in the fifth
    /// file name should stop the run before the first four are half-imported.
    public static func checkReadable(_ paths: [String]) throws {
        for path in paths {
            // (A stream is opened once, and kept for the import.)
            if StreamInputs.isStream(path) { _ = try StreamInputs.shared.sampling(path) } else { _ = try FileSource(path: path) }
        }
    }

    /// Imports the inputs in the order given (call `InputOrder.sorted` first for rotated sets).
    public func run(inputs: [String], into sink: HitSink) throws -> ImportSummary {
        let started = DispatchTime.now().uptimeNanoseconds
        var summary = ImportSummary()
        try reportingStop(&summary, started: started) { summary in
            for (index, path) in inputs.enumerated() {
                summary.files += 1
                do {
                    // With checkpoints, a file is opened here, once, and everything about it comes
                    // from that descriptor. (A stream is read once, unchecked.)
                    let checked = try options.checkpoints.flatMap { try CheckedInput.open(path, store: $0, sites: options.siteMap?.sites ?? []) }
                    if let note = checked?.note { options.onNote?(note) }
                    if let checked, checked.isComplete {
                        try sink.didFinishInput(index)
                        continue
                    }
                    if let starts = checked?.siteStarts { siteStarts[index] = starts }
                    let source = try checked?.source() ?? InputOpener.open(path: path)
                    let start: (offset: Int64, line: Int) = checked?.start ?? (0, 0)
                    if start.offset > 0 {
                        if directives {
                            try readDirectives(source, bytes: start.offset)
                        } else {
                            try Self.skip(source, bytes: start.offset)
                        }
                    }
                    // Reading (the kernel's copy from the page cache, ~20% of a plain run) and
                    // decompression run a few chunks ahead on a thread of their own. Not for a stream:
                    // a stopped run must not wait on a read that may never return.
                    let reader = LineReader(source: StreamInputs.isStream(path) ? source : PrefetchSource(inner: source),
                                            maxLineLength: options.maxLineLength, emitPartialLineAtEOF: !(checked?.isLive ?? false),
                                            startOffset: start.offset, startLine: start.line)
                    do {
                        if let exportRows {
                            try consumeExport(reader, rows: exportRows, input: index, name: path, checked: checked, into: sink, summary: &summary)
                        } else if options.container == .none {
                            try consume(reader, input: index, name: path, checked: checked, into: sink, summary: &summary)
                        } else {
                            let decoder = ContainerLineDecoder(kind: options.container, reader: reader)
                            defer { summary[.tooLong] += decoder.tooLongRecords; summary.lines += decoder.tooLongRecords }
                            try consume(decoder, input: index, name: path, checked: checked, into: sink, summary: &summary)
                        }
                    } catch where error is GzipError || error is ExportHeaderError {
                        inputFailed(error, &summary)   // the lines before it stand
                    }
                    // Malformed lines at the end of a file, fewer than the limit: scattered, skipped.
                    if let held = malformedRun.reset() { try sink.didSkipLine(at: held, reason: .malformed) }
                    summary.bytes += reader.offset - start.offset
                    summary[.tooLong] += reader.tooLongLines
                    summary.lines += reader.tooLongLines
                    try sink.didFinishInput(index)
                } catch where error is SystemError || error is SkipError {
                    inputFailed(error, &summary)
                }
            }
            try sink.finish()
        }
        return summary
    }

    /// An input that cannot be read (further): counted and reported, and the import goes on.
    private func inputFailed(_ error: Error, _ summary: inout ImportSummary) {
        let text = "\(error)"
        summary.inputErrors.append(text)
        options.onInputError?(text)
    }

    /// Runs `body`, then completes the summary. A stop (Ctrl-C, SIGTERM, an uploader that gave
    /// up) cancels the queue and ends `body` early: the summary so far then travels with
    /// `ImportStopped`, so that a stopped run still reports what it read.
    private func reportingStop(_ summary: inout ImportSummary, started: UInt64? = nil,
                               _ body: (inout ImportSummary) throws -> Void) throws {
        do { try body(&summary) } catch is BatchQueue.Cancelled {
            finishSummary(&summary, started: started)
            throw ImportStopped(summary: summary)
        }
        finishSummary(&summary, started: started)
    }

    private func consume(_ reader: LineReader, input: Int, name: String, checked: CheckedInput?, into sink: HitSink,
                         summary: inout ImportSummary) throws {
        var pv = Pageview()
        while let line = try reader.next() {
            if let checked { sink.note(mark: checked.mark(after: line.number, at: line.endOffset)) }
            try process(line, input: input, name: name, into: sink, summary: &summary, pageview: &pv)
        }
    }

    /// A container log: the lines inside the wrappers go through the pipeline; stderr (the
    /// server's error log) and lines not in the wrapper are counted apart.
    private func consume(_ decoder: ContainerLineDecoder, input: Int, name: String, checked: CheckedInput?, into sink: HitSink,
                         summary: inout ImportSummary) throws {
        var pv = Pageview()
        while let record = try decoder.next() {
            // A record closed inside another still open checkpoints before that one.
            if let checked { sink.note(mark: checked.mark(after: record.checkpointLine, at: record.checkpointOffset)) }
            let checkpoint = LinePosition(input: input, line: record.checkpointLine, endOffset: record.checkpointOffset)
            try process(record: record.line, stream: record.stream, problem: record.problem, checkpoint: checkpoint,
                        input: input, name: name, into: sink, summary: &summary, pageview: &pv)
        }
    }

    /// One container record, read to the end or followed: the program's stdout line through the
    /// pipeline; stderr and lines not in the wrapper are counted at `checkpoint`.
    @inline(__always)
    func process(record line: Line, stream: ContainerRecord.Stream, problem: String?, checkpoint: LinePosition,
                 input: Int, name: String, into sink: HitSink, summary: inout ImportSummary, pageview pv: inout Pageview) throws {
        if stream == .stdout && problem == nil {
            return try process(line, input: input, name: name, into: sink, summary: &summary, pageview: &pv)
        }
        summary.lines += 1
        let reason: SkipReason = problem == nil ? .errorLog : .malformed
        summary[reason] += 1
        if let problem { options.onMalformed?(name, line.number, problem, Self.text(line)) }
        try sink.didSkipLine(at: checkpoint, reason: reason)
    }

    /// One line through the pipeline: parse, build, filter, encode. Shared by reading files
    /// to their end and by following a live log.
    @inline(__always)
    func process(_ line: Line, input: Int, name: String, into sink: HitSink, summary: inout ImportSummary,
                 pageview pv: inout Pageview, unparsed: SkipReason? = nil) throws {
        summary.lines += 1
        var position = LinePosition(input: input, line: line.number, endOffset: line.endOffset)
        guard parser.parse(line.base, line.count, into: fields) else {
            // A source that mixes access lines with others it can tell apart (the journal).
            if let unparsed {
                summary[unparsed] += 1
                try sink.didSkipLine(at: position, reason: unparsed)
                return
            }
            if directives && line.count > 0 && line.base[0] == UInt8(ascii: "#") {
                summary[.directive] += 1
                malformedRun.clear()
                try sink.didSkipLine(at: position, reason: .directive)
                return
            }
            try malformed(line, position, name, "does not match the format", into: sink, summary: &summary)
            return
        }
        if let problem = builder.build(line.base, fields, into: &pv) {
            try malformed(line, position, name, problem.rawValue, into: sink, summary: &summary)
            return
        }
        malformedRun.clear()
        if let reason = filter.check(line.base, pv, hasUserAgentField: parser.hasUserAgentField) {
            summary[reason] += 1
            try sink.didSkipLine(at: position, reason: reason)
            return
        }
        if let router {
            guard let site = router.route(line.base, host: pv.host) else {
                summary[.noSite] += 1
                try sink.didSkipLine(at: position, reason: .noSite)
                return
            }
            if let starts = siteStarts[input], line.endOffset <= starts[site] {
                summary[.alreadySent] += 1
                try sink.didSkipLine(at: position, reason: .alreadySent)
                return
            }
            position.site = site
            siteHits[site] += 1
        }
        var session: UnsafeBufferPointer<UInt8>?
        var visitor: UInt64?
        if let visitorHash, pv.time != Int.min {
            let ip = pv.ip.isPresent ? UnsafeRawBufferPointer(start: line.base + pv.ip.start, count: pv.ip.count) : UnsafeRawBufferPointer(start: nil, count: 0)
            let ua = pv.userAgent.isPresent ? UnsafeRawBufferPointer(start: line.base + pv.userAgent.start, count: pv.userAgent.count) : UnsafeRawBufferPointer(start: nil, count: 0)
            let v = visitorHash(ip: ip, userAgent: ua)
            session = HitEncoder.sessionPlaceholder
            if defersSessions {
                deferredVisitor = (v, pv.time)
            } else {
                options.sessions!.warm(v)
                visitor = v
            }
        }
        let buffer = try sink.bufferForNextHit(at: position)
        encoder.encode(line.base, pv, session: session, into: buffer)
        if let visitor {
            // Looked up after the encoding, which the cache miss of the visitor's slot overlaps.
            let id = options.sessions!.session(visitor: visitor, time: pv.time)
            (buffer.base + HitEncoder.sessionOffset(in: buffer)).update(from: id.baseAddress!, count: id.count)
        }
        summary.hits += 1
        try sink.didEncodeHit(at: position)
    }

    /// Counts a malformed line; hands it to the sink as skipped, or holds it back while it may
    /// be part of a run that means the format stopped matching (then the run stops).
    private func malformed(_ line: Line, _ position: LinePosition, _ name: String, _ reason: String,
                           into sink: HitSink, summary: inout ImportSummary) throws {
        summary[.malformed] += 1
        options.onMalformed?(name, line.number, reason, Self.text(line))
        guard let limit = options.stopAfterMalformedInARow else {
            return try sink.didSkipLine(at: position, reason: .malformed)
        }
        if malformedRun.add(position, file: name) >= limit {
            throw FormatStoppedMatching(file: malformedRun.file, line: malformedRun.firstLine, count: malformedRun.count,
                                        format: options.format.name)
        }
    }

    /// Follows a live log until `stop`: every complete line, across rotations, with hits
    /// flushed when the log goes quiet or a batch has waited `flushAfter` seconds.
    public func follow(_ follower: LineFollowing, into sink: FollowingSink, stop: StopSignal,
                       flushAfter: Double = 5) throws -> ImportSummary {
        var summary = ImportSummary()
        var pv = Pageview()
        var inputs: [FileFingerprint: Int] = [:]
        var names: [String] = []
        var batchStarted: Double?
        try reportingStop(&summary) { summary in
            while !stop.isStopped {
                guard let followed = try follower.next(timeout: 1) else {
                    try sink.flush()
                    batchStarted = nil
                    continue
                }
                let input: Int
                if let known = inputs[followed.identity] { input = known } else {
                    input = names.count
                    inputs[followed.identity] = input
                    names.append(followed.path)
                    summary.files += 1
                    // A file resumed from its checkpoint (not one read again from its start after a
                    // failed tail check, whose first line ends at or before the checkpoint): each
                    // site skips what it acknowledged before.
                    if let sites = options.siteMap?.sites, let checkpoint = options.checkpoints?.checkpoint(for: followed.identity),
                       followed.endOffset > checkpoint.offset {
                        let file = followed.file
                        siteStarts[input] = try checkpoint.siteStarts(sites) { try file.resumes(at: $0, tail: $1) }
                    }
                    // A W3C log resumed at its checkpoint: its columns are in the `#Fields:` above.
                    let before = followed.endOffset - Int64(followed.line.rawCount)
                    if directives && before > 0 {
                        do { try readDirectives(followed.file.stream(), bytes: before) } catch {
                            options.onInputError?("\(followed.path): cannot read its #Fields: lines before the checkpoint (\(error))")
                        }
                    }
                    onNewInput?(input, followed.path)
                }
                // Before the line: a batch it fills ships at once, and must carry this checkpoint.
                sink.note(mark: followed.mark)
                if options.container == .none {
                    try process(followed.line, input: input, name: followed.path, into: sink, summary: &summary, pageview: &pv)
                } else {
                    let checkpoint = LinePosition(input: input, line: followed.lineNumber, endOffset: followed.endOffset)
                    try process(record: followed.line, stream: followed.stream, problem: followed.problem, checkpoint: checkpoint,
                                input: input, name: followed.path, into: sink, summary: &summary, pageview: &pv)
                }
                summary.bytes += Int64(followed.line.rawCount)
                let now = RateLimitPacer.monotonic()
                if batchStarted == nil { batchStarted = now }
                if let started = batchStarted, now - started >= flushAfter {
                    try sink.flush()
                    batchStarted = nil
                }
            }
            try sink.flush()
            try sink.finish()
        }
        return summary
    }

    func finishSummary(_ summary: inout ImportSummary, started: UInt64? = nil) {
        if let started { summary.elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        summary.clipped = encoder.clipped
        guard let router else { return }
        for (site, n) in siteHits.enumerated() { summary.siteHits[router.map.sites[site]] = n }
        for (host, n) in router.unmapped { summary.unmappedHosts[host] = n }
    }

    /// Parse lanes: the hit gets a placeholder in place of its visit, which the ordered merge
    /// overwrites (visits depend on the order of the hits), and the visitor's hash and time are
    /// left in `deferredVisitor` for the sink to take when told the hit is encoded.
    var defersSessions = false
    var deferredVisitor: (visitor: UInt64, time: Int)?
    /// A copy of the tracker's key, for lanes to hash visitors without the tracker they share;
    /// nil without visits.
    private let visitorHash: VisitorHash?

    /// Told when following reaches a new file (a rotation): its input index and path.
    public var onNewInput: ((Int, String) -> Void)?

    /// Moves a fresh source past `bytes` bytes like `skip`, but shows the parser the directive
    /// lines among them: a W3C log resumed at a checkpoint still needs the `#Fields:` above it.
    private func readDirectives(_ source: ByteSource, bytes: Int64) throws {
        let reader = LineReader(source: LimitedSource(inner: source, limit: bytes), readSize: 1 << 16,
                                maxLineLength: options.maxLineLength)
        while let line = try reader.next() {
            if line.count > 0 && line.base[0] == UInt8(ascii: "#") { _ = parser.parse(line.base, line.count, into: fields) }
        }
        if reader.offset < bytes { throw SkipError(file: source.name, offset: bytes) }
    }

    /// Moves a fresh source past `bytes` bytes: a seek for plain files, read-and-drop otherwise.
    static func skip(_ source: ByteSource, bytes: Int64) throws {
        var remaining = bytes
        if let prefixed = source as? PrefixedSource, prefixed.seek(to: bytes) { return }
        if let file = source as? PreadSource {
            var st = stat()
            guard fstat(file.fd, &st) == 0, Int64(st.st_size) >= bytes else { throw SkipError(file: source.name, offset: bytes) }
            file.position = bytes
            return
        }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { scratch.deallocate() }
        while remaining > 0 {
            let n = try source.read(into: scratch, capacity: Int(min(remaining, 1 << 20)))
            if n == 0 { throw SkipError(file: source.name, offset: bytes) }
            remaining -= Int64(n)
        }
    }

    public struct SkipError: Error, CustomStringConvertible {
        public let file: String
        public let offset: Int64
        public var description: String { "\(file): shorter than its checkpoint (\(offset) bytes); was it truncated?" }
    }

    static func text(_ line: Line) -> String {
        PrintableText.from(UnsafeBufferPointer(start: line.base, count: min(line.count, 300)))
    }
}
