import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A dry run on several cores: each input is cut into blocks at newlines, the blocks are parsed
/// by `lanes` worker threads (each with a pipeline of its own: parser, builder, filter, encoder)
/// and the results are written in input order, so the output is the same as one thread's.
///
/// What depends on the order of the hits is done at the ordered merge: visits (a lane computes
/// the visitor's keyed hash, the costly half, and leaves a placeholder the merge overwrites),
/// line numbers in messages (a lane knows them relative to its block) and the summary.
/// Memory is bounded by the number of blocks in flight (`2 × lanes + 2`).
public final class LaneImporter {
    public let options: Importer.Options
    public let lanes: Int
    let blockSize: Int

    final class Block {
        let data: UnsafeMutablePointer<UInt8>
        let capacity: Int
        var count = 0              // bytes of whole lines (at the end of an input, the last may lack its newline)
        var tooLongBefore = 0      // lines over the cap that the cutter skipped just before this block
        var input = 0
        var name = ""
        var sequence = 0
        let out = ByteBuffer(capacity: 1 << 20)
        var summary = ImportSummary()
        var lines = 0
        var malformed: [(line: Int, reason: String, text: String)] = []
        var sessions: [(offset: Int, visitor: UInt64, time: Int)] = []

        init(capacity: Int) {
            self.capacity = capacity
            data = .allocate(capacity: capacity)
        }
        deinit { data.deallocate() }

        func reset() {
            count = 0; tooLongBefore = 0; lines = 0
            out.removeAll()
            summary = ImportSummary()
            malformed.removeAll(keepingCapacity: true)
            sessions.removeAll(keepingCapacity: true)
        }
    }

    /// `blockSize` (tests) is raised to twice the line cap, so that a block always holds a line.
    /// 256 KiB: 3.3 MB less peak RSS than 512 KiB on two lanes. (A gzipped input seemed to cost
    /// 8 % more CPU in four interleaved runs; fifteen gave 2.19 s against 2.23 s at best and
    /// 3.00 s against 2.89 s in the median, 2 M lines: noise.)
    public init(options: Importer.Options, lanes: Int, blockSize: Int = 256 * 1024) {
        self.options = options
        self.lanes = max(1, lanes)
        self.blockSize = max(blockSize, 2 * max(options.maxLineLength, 16) + 2)
    }

    // MARK: - Coordination

    private let condition = NSCondition()
    private var todo: [Block] = []
    private var done: [Int: Block] = [:]
    private var free: [Block] = []
    private var finished = false
    private var workerError: Error?

    /// Imports `inputs` in order, writing NDJSON to `fd`.
    public func run(inputs: [String], fd: Int32 = STDOUT_FILENO) throws -> ImportSummary {
        let started = DispatchTime.now().uptimeNanoseconds
        free = (0..<(2 * lanes + 2)).map { _ in Block(capacity: blockSize) }
        var workers: [Lane] = []
        for _ in 0..<lanes { workers.append(try Lane(options: options, owner: self)) }
        let exited = DispatchGroup()
        for (index, lane) in workers.enumerated() {
            exited.enter()
            let thread = Thread { lane.work(); exited.leave() }
            thread.name = "goatimport-lane-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        defer {
            condition.lock(); finished = true; condition.broadcast(); condition.unlock()
            exited.wait()
        }

        var merger = Merger(fd: fd, options: options)
        var summary = ImportSummary()
        var sequence = 0
        for (index, path) in inputs.enumerated() {
            summary.files += 1
            merger.startInput()
            do {
                var source = try InputOpener.open(path: path)
                // Inflating runs on a thread of its own, beside the lanes, rather than in turn
                // with cutting blocks (stdin excepted: a stopped run must not wait on a read).
                if source is GzipSource && path != "-" { source = PrefetchSource(inner: source) }
                var cutter = Cutter(source: source, maxLineLength: options.maxLineLength)
                var more = true
                while more {
                    let block = try takeFree(merger: &merger, summary: &summary)
                    block.input = index
                    block.name = path
                    block.sequence = sequence
                    sequence += 1
                    more = try cutter.fill(block)
                    submit(block)
                    if let error = cutter.error {
                        summary.inputErrors.append(error.description)
                        options.onInputError?(error.description)
                    }
                }
                summary.bytes += cutter.consumed
            } catch let error as SystemError {
                summary.inputErrors.append(error.description)
                options.onInputError?(error.description)
            }
            // Blocks of this input are merged before the next input's line numbers start.
            try drain(until: sequence, merger: &merger, summary: &summary)
        }
        for lane in workers { summary.add(lane.finalSummary()) }
        summary.elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return summary
    }

    private func submit(_ block: Block) {
        condition.lock()
        todo.append(block)
        condition.broadcast()
        condition.unlock()
    }

    /// A free block, merging finished ones (in order) while waiting for one.
    private func takeFree(merger: inout Merger, summary: inout ImportSummary) throws -> Block {
        while true {
            try mergeReady(merger: &merger, summary: &summary)
            condition.lock()
            if let error = workerError { condition.unlock(); throw error }
            if let block = free.popLast() {
                condition.unlock()
                block.reset()
                return block
            }
            if done[merger.next] == nil { condition.wait() }
            condition.unlock()
        }
    }

    private func drain(until sequence: Int, merger: inout Merger, summary: inout ImportSummary) throws {
        while merger.next < sequence {
            try mergeReady(merger: &merger, summary: &summary)
            condition.lock()
            if let error = workerError { condition.unlock(); throw error }
            if merger.next < sequence && done[merger.next] == nil { condition.wait() }
            condition.unlock()
        }
    }

    private func mergeReady(merger: inout Merger, summary: inout ImportSummary) throws {
        while true {
            condition.lock()
            let block = done.removeValue(forKey: merger.next)
            condition.unlock()
            guard let block else { return }
            try merger.merge(block, into: &summary)
            condition.lock()
            free.append(block)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// A worker's next block, or nil when the run is over.
    fileprivate func take() -> Block? {
        condition.lock(); defer { condition.unlock() }
        while todo.isEmpty && !finished { condition.wait() }
        return todo.isEmpty ? nil : todo.removeFirst()
    }

    fileprivate func finish(_ block: Block) {
        condition.lock()
        done[block.sequence] = block
        condition.broadcast()
        condition.unlock()
    }

    fileprivate func fail(_ error: Error) {
        condition.lock()
        if workerError == nil { workerError = error }
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - Cutting

    /// Reads an input into blocks that end at a newline; the bytes after a block's last newline
    /// start the next block. A line longer than the cap is skipped (and counted) here when it
    /// crosses a block boundary, as `LineReader` does.
    struct Cutter {
        let source: ByteSource
        let maxLineLength: Int
        var carry: [UInt8] = []
        var skipping = false
        var pendingTooLong = 0
        /// A damaged gzip stream: the input ended early.
        var error: GzipError?
        /// Bytes of the input handed out in blocks or skipped in over-long lines.
        var consumed: Int64 = 0

        init(source: ByteSource, maxLineLength: Int) {
            self.source = source
            self.maxLineLength = LineCut.cap(maxLineLength)
        }

        /// Fills `block`; false when the input has ended (the block is its last, maybe empty).
        mutating func fill(_ block: Block) throws -> Bool {
            block.tooLongBefore = pendingTooLong
            pendingTooLong = 0
            var count = carry.count
            if count > 0 { carry.withUnsafeBufferPointer { block.data.update(from: $0.baseAddress!, count: count) } }
            carry.removeAll(keepingCapacity: true)
            var eof = false
            while count < block.capacity {
                let n: Int
                do { n = try source.read(into: block.data + count, capacity: block.capacity - count) } catch let e as GzipError {
                    // Every complete line decoded before the damage is kept; the input ends here.
                    error = e
                    block.count = Self.lastNewline(block.data, count).map { $0 + 1 } ?? 0
                    consumed += Int64(block.count)
                    return false
                }
                if n == 0 { eof = true; break }
                if skipping {
                    // Drop the rest of an over-long line, up to and including its newline.
                    guard let nl = memchr(block.data + count, 0x0A, n) else { consumed += Int64(n); continue }
                    let cut = UnsafeMutablePointer(mutating: nl.assumingMemoryBound(to: UInt8.self)) - (block.data + count) + 1
                    consumed += Int64(cut)
                    let keep = n - cut
                    if keep > 0 { memmove(block.data + count, block.data + count + cut, keep) }
                    skipping = false
                    count += keep
                } else {
                    count += n
                }
            }
            if eof {
                block.count = count
                consumed += Int64(count)
                if skipping { skipping = false }   // the over-long last line was counted when met
                return false
            }
            guard let nl = Self.lastNewline(block.data, count) else {
                // A full block without a newline: one line over the cap.
                block.count = 0
                skipping = true
                pendingTooLong += 1
                consumed += Int64(count)
                return true
            }
            let end = nl + 1
            block.count = end
            consumed += Int64(end)
            let rest = count - end
            if rest > maxLineLength {
                consumed += Int64(rest)
                skipping = true
                pendingTooLong += 1
            } else if rest > 0 {
                carry.append(contentsOf: UnsafeBufferPointer(start: block.data + end, count: rest))
            }
            return true
        }

        /// (Glibc's module map has no memrchr; lines are short, so the scan back is too.)
        static func lastNewline(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int? {
            var i = count - 1
            while i >= 0 {
                if p[i] == 0x0A { return i }
                i -= 1
            }
            return nil
        }
    }

    // MARK: - Lanes

    /// One worker: a whole pipeline, and a sink that writes into the block being parsed.
    final class Lane: HitSink {
        let importer: Importer
        unowned let owner: LaneImporter
        var block: Block!
        let maxLineLength: Int

        init(options: Importer.Options, owner: LaneImporter) throws {
            var options = options
            let box = MalformedBox()
            options.onMalformed = options.onMalformed == nil ? nil : { _, line, reason, text in box.add?(line, reason, text) }
            importer = try Importer(options: options)
            self.owner = owner
            maxLineLength = LineCut.cap(options.maxLineLength)
            box.add = { [unowned self] line, reason, text in self.block.malformed.append((line, reason, text)) }
            importer.defersSessions = options.sessions != nil
        }

        final class MalformedBox { var add: ((Int, String, String) -> Void)? }

        func work() {
            while let block = owner.take() {
                self.block = block
                out = Unmanaged.passUnretained(block.out)
                swap(&sessions, &block.sessions)
                do { try parse(block) } catch { owner.fail(error) }
                swap(&sessions, &block.sessions)
                owner.finish(block)
            }
        }

        // The block's output and visits, held by the lane while it parses the block: reached
        // through `block` on every hit, they cost a retain and a release each. (The block holds
        // the buffer; an `unowned(unsafe)` reference still cost a retain and a release around
        // each hit's newline, 2 % of a run.)
        private var out = Unmanaged.passUnretained(Lane.noBlock)
        private static let noBlock = ByteBuffer(capacity: 0)
        private var sessions: [(offset: Int, visitor: UInt64, time: Int)] = []

        private func parse(_ block: Block) throws {
            var pv = Pageview()
            var start = 0
            var number = 0
            let end = block.count
            let data = UnsafePointer(block.data)
            // The lane's own copy of the name, held across the block: passed as `block.name`,
            // the storage every lane shares was retained and released on every line.
            let name = String(decoding: Array(block.name.utf8), as: UTF8.self)
            let input = block.input
            while start < end {
                // The line reader's rules (`LineCut`); a block ends at a newline, except the
                // input's last, whose last line may lack it.
                let cut = LineCut.next(data, from: start, to: end, cap: maxLineLength)
                    ?? LineCut.last(data, from: start, to: end, cap: maxLineLength)
                number += 1
                if cut.tooLong {
                    block.summary[.tooLong] += 1
                    block.summary.lines += 1
                } else {
                    let line = Line(base: data + start, count: cut.count, number: number,
                                    endOffset: Int64(cut.next), rawCount: cut.rawCount)
                    try importer.process(line, input: input, name: name, into: self,
                                         summary: &block.summary, pageview: &pv)
                }
                start = cut.next
            }
            block.lines = number
        }

        func bufferForNextHit(at position: LinePosition) -> ByteBuffer { out.takeUnretainedValue() }

        func didEncodeHit(at position: LinePosition) throws {
            out._withUnsafeGuaranteedRef { out in
                if let (visitor, time) = importer.deferredVisitor {
                    sessions.append((HitEncoder.sessionOffset(in: out), visitor, time))
                    importer.deferredVisitor = nil
                }
                out.append(0x0A)
            }
        }

        func finish() throws {}

        /// What only the lane's pipeline knows (clipped values, hosts per site).
        func finalSummary() -> ImportSummary {
            var summary = ImportSummary()
            importer.finishSummary(&summary)
            return summary
        }
    }

    // MARK: - Merging

    /// Writes blocks in order, filling in what depends on order.
    struct Merger {
        let fd: Int32
        let options: Importer.Options
        var next = 0
        var linesBefore = 0    // lines of this input before the next block

        init(fd: Int32, options: Importer.Options) {
            self.fd = fd
            self.options = options
        }

        mutating func startInput() { linesBefore = 0 }

        static let ahead = 8

        mutating func merge(_ block: Block, into summary: inout ImportSummary) throws {
            linesBefore += block.tooLongBefore
            summary[.tooLong] += block.tooLongBefore
            summary.lines += block.tooLongBefore
            if let tracker = options.sessions {
                // Each visitor's slot is warmed eight lookups ahead: a new visitor's slot is a
                // cache miss, and misses in flight together cost little more than one.
                let sessions = block.sessions
                for s in sessions.prefix(Merger.ahead) { tracker.warm(s.visitor) }
                for (j, s) in sessions.enumerated() {
                    if j + Merger.ahead < sessions.count { tracker.warm(sessions[j + Merger.ahead].visitor) }
                    let id = tracker.session(visitor: s.visitor, time: s.time)
                    (block.out.base + s.offset).update(from: id.baseAddress!, count: id.count)
                }
            }
            try block.out.write(to: fd)
            if let report = options.onMalformed {
                for m in block.malformed { report(block.name, linesBefore + m.line, m.reason, m.text) }
            }
            linesBefore += block.lines
            summary.add(block.summary)
            next += 1
        }
    }
}
