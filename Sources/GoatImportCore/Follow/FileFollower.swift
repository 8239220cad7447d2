import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Follows one log path (e.g. `/var/log/nginx/access.log`) across rotations, handing out
/// complete lines in order, each with the identity of the file it came from and a checkpoint
/// to store once the line has been acknowledged (uploaded).
///
/// - Starts at the stored checkpoint of the file's identity (after verifying its tail hash;
///   a mismatch means copytruncate or a reused inode, and the file is read from 0), else at
///   `Options.from` on a first run (the state has never recorded this path), else at 0 (the
///   file is new since the last run).
/// - A partial last line waits for its newline.
/// - Files are read one after the other, each to its end: the backlog (`CatchUp.plan`), files
///   renamed away from the path, then the file now at the path. The path is watched all the
///   time, also while older files are read: a new file there is opened as soon as it is
///   noticed (so a file rotated away again before its turn is still read, from its
///   descriptor), and the newest file is checked for copytruncate before it is read too.
/// - Rename rotation (the path now names another inode, or none): the old descriptor is read
///   until it has not grown for `gracePeriod`, counted from when the rotation was noticed
///   (the server keeps writing to it until it reopens its logs), then the next file. A line
///   written to the old file after that is lost. Backlog files are drained the same way,
///   counted from when the follower was created (gzip files and copies cannot grow).
/// - Copytruncate (same inode, size below the read position, or a different first line): the
///   file is read again from 0. Lines not yet read when the file was truncated are looked
///   for in a sibling copy with the same identity (`access.log.1`, or `.1.gz`) and read from
///   there first. The identity of a file not read yet is taken as soon as its first line is
///   complete. Lost whatever the reader does: lines written between logrotate's copy and its
///   truncate (they exist in neither file), and lines of a file copytruncated before the
///   follower ever saw its first line complete (nothing tells the new content from the old).
/// - Sleeps on inotify (or polls every `pollInterval` without it); `stop()` wakes it from
///   another thread. Not otherwise thread-safe: call `next` from one thread.
public final class FileFollower {
    public enum StartPosition: String, Sendable, Equatable, CaseIterable {
        case beginning, end
    }

    public struct Options {
        /// Where to start in a file without checkpoint on a first run.
        public var from: StartPosition = .end
        /// How long a rotated-away file must be quiet before switching to the new file.
        public var gracePeriod: Double = 5
        /// Re-check interval without inotify.
        public var pollInterval: Double = 0.5
        /// Re-check interval with inotify, in case an event was missed.
        public var safetyInterval: Double = 2
        public var useInotify = true
        public var maxLineLength = 64 * 1024
        public var readSize = 256 * 1024
        /// Look for the copy of a copytruncated file among its siblings.
        public var readCopytruncateCopies = true
        /// Lines in a container runtime's wrapper: handed out as the program's lines, parts
        /// joined (also across a rotation), through the one-shot path's `ContainerLineDecoder`.
        public var container = ContainerLog.none
        /// Monotonic seconds; tests inject a manual clock to drive the grace period.
        public var clock: () -> Double = FileFollower.monotonicSeconds
        public init() {}
    }

    /// One complete line. `line` is a view into the reader's buffer, valid until the next call;
    /// its number and end offset are the file's (a container record's: of its last part).
    public struct FollowedLine {
        public let line: Line
        /// A container record's stream, and why a file's line is not in the wrapper.
        public var stream = ContainerRecord.Stream.stdout
        public var problem: String?
        public var identity: FileFingerprint { mark.identity }
        /// The path the file was opened under (it may have been renamed since).
        public var path: String { file.path }
        /// Where a checkpoint after this line goes, once the line is acknowledged.
        public let mark: CheckpointMark
        /// What to store once this line is acknowledged; made now, before the follower reads on
        /// (a batch makes it only for the line it ends on).
        public var checkpoint: Checkpoint { mark.checkpoint() }
        /// The open file the line was read from: what lies before the line is read from this
        /// descriptor, since the path may name another file by now.
        let file: LogFile
        public var endOffset: Int64 { mark.offset }
        public var lineNumber: Int { mark.line }
        /// The line's bytes (without newline), copied.
        public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: line.base, count: line.count)) }
    }

    public let path: String
    public let options: Options
    private let store: CheckpointStore?
    private let watcher: FileWatcher
    /// The files to read, in order; the first is being read. The catch-up backlog, then files
    /// renamed away from `path` (drained until quiet), then the file now at `path` (`live`).
    private var readings: [Reading] = []
    /// The backlog not opened yet: one backlog file is open at a time, at the front of
    /// `readings`.
    private var backlog: ArraySlice<CatchUpItem>
    /// When the follower was created: the backlog's grace period counts from then.
    private let createdAt: Double
    /// The file at `path` as of the last check (the last of `readings`); nil when there is none
    /// yet, or when the last file was renamed away (or deleted) and no new one exists yet.
    private var live: Reading?
    private var openedLive = false
    private let stopLock = NSLock()
    private var stopped = false
    /// Lines over `maxLineLength` skipped so far.
    public private(set) var tooLongLines = 0
    /// Rotations and truncations noticed (for logs and tests).
    public private(set) var events: [String] = []

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// - Parameters:
    ///   - store: checkpoints to resume from (the caller updates it with the checkpoints of
    ///     acknowledged lines; the follower records only where a first run `from: .end` starts).
    ///   - backlog: rotated files to read first, oldest first (see `CatchUp.plan`).
    public init(path: String, store: CheckpointStore?, options: Options = Options(), backlog: [CatchUpItem] = []) {
        self.path = path
        self.store = store
        self.options = options
        watcher = FileWatcher(useInotify: options.useInotify)
        self.backlog = backlog[...]
        createdAt = options.clock()
        openBacklog()
        // Open the live file now, so that `from: .end` means the end as of creating the
        // follower. It is watched from now on, also while the backlog is read: a rotation or
        // copytruncate meanwhile is handled as if it were being read. An error other than a
        // missing file is thrown by the first `next`.
        if let r = try? makeLive() {
            live = r
            readings.append(r)
        }
        watchCurrent()
    }

    /// Whether inotify is in use (false: polling).
    public var usesInotify: Bool { watcher.usesInotify }

    /// Makes `next` return nil now and from then on; callable from any thread.
    public func stop() {
        stopLock.lock()
        stopped = true
        stopLock.unlock()
        watcher.wake()
    }

    public var isStopped: Bool {
        stopLock.lock()
        defer { stopLock.unlock() }
        return stopped
    }

    /// The next complete line, waiting up to `timeout` seconds for one; nil on timeout (flush
    /// what you have) or after `stop()`. `timeout: 0` reads what is there without sleeping.
    public func next(timeout: Double) throws -> FollowedLine? {
        // A line ready (a catch-up, a busy log) is handed out without reading the clock.
        if isStopped { return nil }
        if let line = try readLine() { return line }
        let deadline = options.clock() + max(0, timeout)
        while true {
            if isStopped { return nil }
            if let line = try readLine() { return line }
            if try checkFiles() { continue }
            let now = options.clock()
            if now >= deadline {
                watcher.wait(seconds: 0)   // drain pending events
                return nil
            }
            watcher.wait(seconds: min(deadline - now, longestSleep(now: now)))
        }
    }

    /// How long the follower may sleep before it must look again (a rotated file's grace
    /// period ending, the safety re-check, or the poll interval without inotify).
    func longestSleep(now: Double) -> Double {
        var wait = watcher.usesInotify ? options.safetyInterval : options.pollInterval
        if let r = readings.first, let quietSince = r.quietSince {
            wait = min(wait, max(0.01, max(quietSince, r.lastData) + options.gracePeriod - now))
        }
        return wait
    }

    /// The descriptors that become readable when the follower should look again.
    var wakeDescriptors: [Int32] { watcher.descriptors }

    // MARK: - Reading

    private func readLine() throws -> FollowedLine? {
        guard let r = readings.first else { return nil }
        let tooLongBefore = r.reader.tooLongLines + (r.decoder?.tooLongRecords ?? 0)
        // (A container file's own lines reach the tail ring through the decoder.)
        let record = try r.decoder?.next()
        let got = r.decoder == nil ? try r.reader.next() : record?.line
        let tooLongAfter = r.reader.tooLongLines + (r.decoder?.tooLongRecords ?? 0)
        if tooLongAfter != tooLongBefore {
            tooLongLines += tooLongAfter - tooLongBefore
            if r.decoder == nil { r.ring.invalidate() }
        }
        guard let line = got else { return nil }
        if r.isLive, let id = r.identity, r.raw.position != r.verifiedPosition {
            // New data: make sure the file still is the one we think (truncated and rewritten
            // past our position between two checks).
            if try r.file.fingerprint() != id {
                try restart(r, reason: "rewritten")
                return try readLine()
            }
            r.verifiedPosition = r.raw.position
        }
        if r.identity == nil {
            r.identity = try r.file.fingerprint()
            guard r.identity != nil else {
                // Truncated under us between the read and now: start over.
                try restart(r, reason: "truncated")
                return try readLine()
            }
        }
        if r.decoder == nil { r.absorb(line) }
        // A container record closed inside another still open checkpoints before that one.
        let offset = record?.checkpointOffset ?? line.endOffset
        let number = r.baseLine + (record?.checkpointLine ?? line.number)
        r.emittedOffset = offset
        r.emittedLine = number
        // A container record may checkpoint before a record still open, away from the ring:
        // its tail is taken now, while the bytes are those just read (a restart needs it).
        if r.decoder != nil { r.emittedTail = r.tailHash(at: offset) }
        let whole = Line(base: line.base, count: line.count, number: r.baseLine + line.number,
                         endOffset: line.endOffset, rawCount: line.rawCount)
        return FollowedLine(line: whole, stream: record?.stream ?? .stdout, problem: record?.problem,
                            mark: CheckpointMark(source: r, identity: r.identity!, offset: offset, line: number), file: r.file)
    }

    /// At the end of the current file: look at `path` (rotation, truncation), and move on from
    /// a finished file. Returns true when something changed and reading should be tried again.
    private func checkFiles() throws -> Bool {
        let now = options.clock()
        // (A restart may have put a copy first: it has not been read yet.)
        if try checkPath(now: now) { return true }
        for r in readings where r !== live { r.noteGrowth(now: now) }
        guard let r = readings.first, r !== live else { return false }
        // A rotated file: done when it cannot grow (gzip, copy) or has not grown for the grace
        // period since it stopped being the live file (or was opened, for the backlog).
        if r.static || now - max(r.lastData, r.quietSince ?? r.lastData) >= options.gracePeriod {
            if !r.reader.emitPartialLineAtEOF && r.reader.pendingBytes > 0 {
                // Finished: its last line ends at its last byte, newline or not.
                r.reader.emitPartialLineAtEOF = true
                return true
            }
            events.append("done \(r.file.path)")
            readings.removeFirst()
            openBacklog()
            // A record split across the rotation ends in the next file when that is read from
            // its start; one resumed past its start had the record acknowledged already.
            if let decoder = r.decoder, decoder.hasOpenRecord, let next = readings.first?.decoder,
               next.reader.offset == 0, next.reader.lineNumber == 0 {
                decoder.carryOpenRecords(into: next)
            }
            watchCurrent()
            return true
        }
        return false
    }

    /// Whatever is being read, keeps track of the file at `path`: opens a new one as soon as
    /// it appears (so that a file rotated away again before it is read is still read, from
    /// its descriptor), and checks the current one for copytruncate (also before reading it).
    private func checkPath(now: Double) throws -> Bool {
        var st = stat()
        let exists = stat(path, &st) == 0
        if let l = live {
            if exists && UInt64(st.st_dev) == l.file.device && UInt64(st.st_ino) == l.file.inode {
                return try checkRewritten(l)
            }
            // Renamed or deleted: drain its descriptor until it has been quiet for the grace
            // period (the server writes to it until it reopens its logs).
            l.quietSince = now
            l.lastData = now
            l.lastSize = l.file.size()
            live = nil
            events.append("rotated \(path)")
        }
        guard exists else { return false }
        if let last = readings.last, last.isLive,
           UInt64(st.st_dev) == last.file.device && UInt64(st.st_ino) == last.file.inode {
            // Renamed back: it is the live file again.
            last.quietSince = nil
            live = last
            return false
        }
        if readings.contains(where: { UInt64(st.st_dev) == $0.file.device && UInt64(st.st_ino) == $0.file.inode }) {
            return false   // an older file renamed back: nothing new to read
        }
        guard let r = try makeLive() else { return false }
        live = r
        readings.append(r)
        if readings.count == 1 { watchCurrent() }
        return true
    }

    /// The live file (read or not yet): truncated below the read position, or a different first
    /// line (copytruncate, then written past our position), means it is read again from 0.
    /// Its identity is taken as soon as its first line is complete, read or not, so that a
    /// copytruncate before it is read is noticed too.
    private func checkRewritten(_ l: Reading) throws -> Bool {
        if l.file.size() < l.raw.position {
            try restart(l, reason: "truncated")
            return true
        }
        let now = try l.file.fingerprint()
        if let id = l.identity {
            if now != id {
                try restart(l, reason: "rewritten")
                return true
            }
        } else {
            l.identity = now
        }
        return false
    }

    /// Opens the next backlog file that can still be found, in front of the other readings.
    private func openBacklog() {
        while var item = backlog.popFirst() {
            guard let file = item.file ?? locate(item) else {
                events.append("gone \(item.path)")
                continue
            }
            item.file = file
            let r = Reading(item: item, follower: self)
            // Drained like every backlog file: quiet for the grace period since the start.
            r.lastData = createdAt
            r.quietSince = createdAt
            readings.insert(r, at: 0)
            return
        }
    }

    /// A backlog file by its identity: at its planned path, else renamed or compressed since
    /// (a rotation while earlier files were read); nil when it is gone.
    private func locate(_ item: CatchUpItem) -> LogFile? {
        for candidate in [item.path] + CatchUp.siblings(of: path) {
            if let file = try? LogFile(path: candidate), (try? file.fingerprint()) == item.identity { return file }
        }
        return nil
    }

    private func watchCurrent() {
        guard let r = readings.first, r !== live else { return watcher.watch(file: path) }
        watcher.watch(file: r.file.path)
    }

    /// Opens the file now at `path`, positioned per its checkpoint or the start rules; nil
    /// when there is no file, or when a file that appeared after the start cannot be opened
    /// yet: logrotate's `create 0640 www-data adm` (and `install -o -g -m`) creates the file
    /// before giving it its owner and mode, so it is looked at again, not fatal.
    private func makeLive() throws -> Reading? {
        let file: LogFile
        do { file = try LogFile(path: path) } catch let error as SystemError
            where error.errno == ENOENT || (openedLive && error.errno == EACCES) {
            return nil
        }
        let identity = try file.fingerprint()
        var start: Int64 = 0
        var line = 0
        var verifiedTail: [UInt8]?
        if identity != nil, let cp = try file.checkpoint(in: store), cp.offset > 0 {
            if let tail = try file.verifiedTail(cp.tail, before: cp.offset) {
                start = cp.offset
                line = cp.line
                verifiedTail = tail
            } else {
                events.append("tail mismatch \(path)")
            }
        } else if !openedLive && options.from == .end && !(store?.hasEntry(forPath: path) ?? false) && !file.isGzip {
            start = try file.offsetAfterLastNewline()
            // Recorded (saved with the first acknowledgement), so that every site of a site map
            // starts here too, not only the first one to acknowledge a line.
            if let identity, start > 0 {
                store?.update(Checkpoint(fingerprint: identity, offset: start, tail: try file.tailHash(before: start) ?? "",
                                         line: 0, path: path))
            }
        }
        openedLive = true
        let r = Reading(file: file, identity: identity, start: start, baseLine: line, live: true, follower: self)
        r.setTail(verifiedTail, at: start)
        return r
    }

    /// Reads the live file `r` again from 0, after the lines it still had in the copy of a
    /// copytruncate (when found).
    private func restart(_ r: Reading, reason: String) throws {
        events.append("\(reason) \(path)")
        guard let index = readings.firstIndex(where: { $0 === r }) else { return }
        let emitted = r.emittedOffset
        let oldIdentity = r.identity
        let oldTail = r.decoder != nil ? r.emittedTail : r.ring.hash
        let fresh = Reading(file: r.file, identity: nil, start: 0, baseLine: 0, live: true, follower: self)
        fresh.identity = try r.file.fingerprint()
        // (Rewritten after it was renamed away: still drained until quiet.)
        fresh.quietSince = r.quietSince
        var replacement = [fresh]
        // copytruncate: the lines we had not read yet may be in the copy.
        if options.readCopytruncateCopies, let id = oldIdentity, let tail = oldTail,
           let copy = try findCopy(of: id, after: emitted, tail: tail) {
            copy.baseLine = r.emittedLine
            replacement.insert(copy, at: 0)
        }
        readings.replaceSubrange(index...index, with: replacement)
        if live === r { live = fresh }
        if index == 0 { watchCurrent() }
    }

    private func findCopy(of identity: FileFingerprint, after offset: Int64, tail: String) throws -> Reading? {
        for candidate in CatchUp.siblings(of: path) {
            guard let file = try? LogFile(path: candidate), (try? file.fingerprint()) == identity else { continue }
            if file.isGzip {
                // Already compressed: decompress and skip (the tail is checked on the way).
                let item = CatchUpItem(path: candidate, identity: identity, startOffset: offset, startLine: 0, tail: tail, file: file)
                let r = Reading(item: item, follower: self)
                guard r.reader.offset == offset else { continue }
                events.append("copy \(candidate)")
                return r
            }
            guard file.size() > offset,
                  let t = try file.verifiedTail(tail, before: offset) else { continue }
            events.append("copy \(candidate)")
            let r = Reading(file: file, identity: identity, start: offset, baseLine: 0, live: false, follower: self)
            r.static = true
            r.setTail(t, at: offset)
            return r
        }
        return nil
    }

    // MARK: - One file being read

    final class Reading: CheckpointSource {
        let file: LogFile
        let raw: PreadSource
        let reader: LineReader
        var identity: FileFingerprint?
        var baseLine: Int
        let isLive: Bool
        /// Cannot grow: switch away at its end without waiting.
        var `static`: Bool
        /// When the file was last seen growing (or opened, or renamed away).
        var lastData: Double
        /// Its size then.
        var lastSize: Int64
        /// When the file stopped being the live file (rotation noticed, or backlog opened).
        var quietSince: Double?
        /// The bytes before the last line read, for tail hashes.
        let ring = TailRing()
        /// Offset and line number past the last line handed out.
        var emittedOffset: Int64
        var emittedLine: Int
        /// Read position at which the identity was last checked.
        var verifiedPosition: Int64
        /// The tail hash at `emittedOffset` (nil: unknown).
        var emittedTail: String?
        /// Container logs: the records inside the wrappers, read from `reader`.
        private(set) var decoder: ContainerLineDecoder?

        init(file: LogFile, identity: FileFingerprint?, start: Int64, baseLine: Int, live: Bool,
             follower: FileFollower, source: ByteSource? = nil, raw: PreadSource? = nil) {
            self.file = file
            self.identity = identity
            self.baseLine = baseLine
            isLive = live
            `static` = file.isGzip
            let raw = raw ?? PreadSource(fd: file.fd, name: file.path, position: start)
            self.raw = raw
            emittedOffset = start
            emittedLine = baseLine
            verifiedPosition = raw.position
            reader = LineReader(source: source ?? raw, readSize: follower.options.readSize,
                                maxLineLength: follower.options.maxLineLength,
                                emitPartialLineAtEOF: false, startOffset: start)
            lastData = follower.options.clock()
            lastSize = file.size()
            if !live { quietSince = lastData }
            if follower.options.container != .none {
                let decoder = ContainerLineDecoder(kind: follower.options.container, reader: reader, joinsAcrossFiles: true)
                decoder.onLine = { [unowned self] in self.absorb($0) }
                self.decoder = decoder
            }
        }

        /// A backlog file from the catch-up plan (open: `item.file`), positioned at its start
        /// offset (verified).
        convenience init(item: CatchUpItem, follower: FileFollower) {
            let file = item.file!
            if !file.isGzip {
                var tail: [UInt8]?
                if item.startOffset > 0 { tail = (try? file.verifiedTail(item.tail, before: item.startOffset)) ?? nil }
                let ok = item.startOffset == 0 || tail != nil
                self.init(file: file, identity: item.identity, start: ok ? item.startOffset : 0,
                          baseLine: ok ? item.startLine : 0, live: false, follower: follower)
                setTail(tail, at: ok ? item.startOffset : 0)
                return
            }
            // gzip: decompress and skip to the offset, checking the tail on the way.
            let raw = PreadSource(fd: file.fd, name: file.path)
            var source: ByteSource = GzipSource(inner: raw)
            var start: Int64 = 0
            var tail: [UInt8]?
            if item.startOffset > 0 {
                let skipped = try? LogFile.skip(source, to: item.startOffset)
                if let skipped, item.tail.isEmpty || TailCheck.hash(skipped) == item.tail {
                    start = item.startOffset
                    tail = skipped
                } else {
                    raw.rewind()
                    source = GzipSource(inner: raw)
                }
            }
            self.init(file: file, identity: item.identity, start: start, baseLine: start > 0 ? item.startLine : 0,
                      live: false, follower: follower, source: source, raw: raw)
            setTail(tail, at: start)
        }

        /// A file that may still be written to (rotated away, backlog): notes when it grew.
        func noteGrowth(now: Double) {
            guard !`static` else { return }
            let size = file.size()
            if size != lastSize {
                lastSize = size
                lastData = now
            }
        }

        func setTail(_ bytes: [UInt8]?, at offset: Int64) {
            ring.reset(bytes, at: offset)
            emittedTail = ring.hash
        }

        /// The tail hash of the bytes before `offset`: the ring's when it ends there, else read
        /// again from the descriptor (a container checkpoint before a record still open, or a
        /// checkpoint made after the follower read on); "" (not checked) for gzip.
        func tailHash(at offset: Int64) -> String {
            if offset == ring.end { return ring.hash ?? "" }
            guard !file.isGzip else { return "" }
            return ((try? file.tailHash(before: offset)) ?? nil) ?? ""
        }

        /// The checkpoint after the line that ended at `offset`.
        func checkpoint(identity: FileFingerprint, offset: Int64, line: Int) -> Checkpoint {
            Checkpoint(fingerprint: identity, offset: offset, tail: tailHash(at: offset), line: line, path: file.path)
        }

        /// Adds a line's raw bytes (content, `\r`, `\n`) to the tail ring.
        @inline(__always)
        func absorb(_ line: Line) {
            ring.absorb(line.base, rawCount: line.rawCount, endOffset: line.endOffset) { [file] lineStart in
                // A gap (skipped long line): the bytes before this line are read again.
                // (Not for gzip: it would mean decompressing from the start.)
                guard !file.isGzip else { return nil }
                return (try? file.tail(before: lineStart)) ?? nil
            }
        }
    }
}

extension PreadSource {
    func rewind() { position = 0 }
}
