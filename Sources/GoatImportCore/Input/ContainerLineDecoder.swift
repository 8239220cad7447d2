/// One record of a container log: the line the program wrote, parts joined.
public struct ContainerRecord {
    public enum Stream: Sendable { case stdout, stderr }
    /// The program's line (without its newline); `number` is its last part's line in the file
    /// and `endOffset` lies just past that part.
    public var line: Line
    public var stream: Stream
    /// Set when the file's line is not in the wrapper: `line` is then the file's line as it is.
    public var problem: String?
    /// Where a checkpoint for this record may go: past it, or, while a stdout record is still
    /// open (its parts around this one), before that record's first part, so that a rerun
    /// reads the whole of it.
    public var checkpointOffset: Int64
    public var checkpointLine: Int
}

/// Reads a container log line by line and yields the lines inside its wrappers: Docker
/// json-file `log` values (JSON escapes undone) and CRI contents, the parts of a split line
/// joined (Docker leaves the newline off all parts but the last; CRI tags parts `P` and the
/// last `F`). Streams are joined apart, as they interleave.
///
/// No allocation per line: a record is a view into the reader's buffer, or into a buffer of
/// its own when it was unescaped or joined.
public final class ContainerLineDecoder {
    public let kind: ContainerLog
    public let reader: LineReader
    /// Records longer than the reader's cap once joined: skipped whole.
    public private(set) var tooLongRecords = 0
    /// Told each of the file's own lines as it is read (a follower keeps its tail hash from them).
    public var onLine: ((Line) -> Void)?
    /// A follower's file: an open record at the end of the file waits for its last part, in
    /// this file or, after a rotation, in the next (`carryOpenRecords`); never ended early.
    public let joinsAcrossFiles: Bool

    private let decoded = ByteBuffer(capacity: 1 << 16)
    private let joined = [ByteBuffer(capacity: 1 << 16), ByteBuffer(capacity: 1 << 16)]
    /// Per stream: where its open record's first part starts, while one is open.
    private var openAt: [(offset: Int64, line: Int)?] = [nil, nil]
    private var overflow = [false, false]

    public init(kind: ContainerLog, reader: LineReader, joinsAcrossFiles: Bool = false) {
        precondition(kind != .none)
        self.kind = kind
        self.reader = reader
        self.joinsAcrossFiles = joinsAcrossFiles
    }

    /// Whether a record's first parts have been read and its last part not yet.
    public var hasOpenRecord: Bool { openAt[0] != nil || openAt[1] != nil }

    /// Hands the parts of open records to the decoder of the file read next (the runtime split
    /// a line across a rotation); their checkpoint there stays at its start until they close.
    public func carryOpenRecords(into next: ContainerLineDecoder) {
        for s in 0..<2 where openAt[s] != nil {
            next.openAt[s] = (next.reader.offset, next.reader.lineNumber)
            next.joined[s].removeAll()
            next.joined[s].append(UnsafePointer(joined[s].base), count: joined[s].count)
            next.overflow[s] = overflow[s]
            openAt[s] = nil
        }
    }

    public func next() throws -> ContainerRecord? {
        while true {
            let before = (offset: reader.offset, line: reader.lineNumber)
            guard let line = try reader.next() else { return flushAtEnd() }
            onLine?(line)
            guard let (content, count, stream, last) = unwrap(line) else {
                return record(line, .stdout, problem: kind == .docker ? "not a Docker json-file line" : "not a CRI log line")
            }
            let s = stream == .stdout ? 0 : 1
            if !last {
                if openAt[s] == nil { openAt[s] = before; joined[s].removeAll(); overflow[s] = false }
                append(content, count, s)
                continue
            }
            guard openAt[s] != nil else {
                return record(Line(base: content, count: count, number: line.number, endOffset: line.endOffset), stream, problem: nil)
            }
            append(content, count, s)
            openAt[s] = nil
            if overflow[s] { tooLongRecords += 1; continue }
            let whole = Line(base: joined[s].base, count: joined[s].count, number: line.number, endOffset: line.endOffset)
            return record(whole, stream, problem: nil)
        }
    }

    /// One-shot reads end an open record at the end of the file (a program that stopped
    /// mid-line); a follower or a run with checkpoints leaves it for when its last part comes.
    private func flushAtEnd() -> ContainerRecord? {
        guard reader.emitPartialLineAtEOF && !joinsAcrossFiles else { return nil }
        for s in 0..<2 where openAt[s] != nil {
            openAt[s] = nil
            if overflow[s] { tooLongRecords += 1; continue }
            let whole = Line(base: joined[s].base, count: joined[s].count, number: reader.lineNumber, endOffset: reader.offset)
            return record(whole, s == 0 ? .stdout : .stderr, problem: nil)
        }
        return nil
    }

    private func record(_ line: Line, _ stream: ContainerRecord.Stream, problem: String?) -> ContainerRecord {
        // A stdout record closes at its own end; anything else must not move a checkpoint past
        // the first part of the stdout record still open around it.
        let open = stream == .stdout && problem == nil ? nil : openAt[0]
        return ContainerRecord(line: line, stream: stream, problem: problem,
                               checkpointOffset: open?.offset ?? line.endOffset, checkpointLine: open?.line ?? line.number)
    }

    private func append(_ p: UnsafePointer<UInt8>, _ count: Int, _ s: Int) {
        guard !overflow[s] else { return }
        if joined[s].count + count > reader.maxLineLength { overflow[s] = true; return }
        joined[s].append(p, count: count)
    }

    /// The content of a wrapped line, its stream and whether it ends the program's line.
    private func unwrap(_ line: Line) -> (UnsafePointer<UInt8>, Int, ContainerRecord.Stream, Bool)? {
        switch kind {
        case .docker:
            guard let d = DockerLine.parse(line.base, line.count) else { return nil }
            var p = line.base + d.log.start
            var n = d.log.end - d.log.start
            if Unescape.needed(p, n, .json) {
                decoded.removeAll()
                Unescape.decode(p, n, .json, into: decoded)
                p = UnsafePointer(decoded.base)
                n = decoded.count
            }
            let last = n > 0 && p[n - 1] == 0x0A
            if last { n = LineCut.withoutCR(p, n - 1) }
            return (p, n, d.stderr ? .stderr : .stdout, last)
        case .cri:
            guard let c = CRILine.parse(line.base, line.count) else { return nil }
            return (line.base + c.content, line.count - c.content, c.stderr ? .stderr : .stdout, !c.partial)
        case .none:
            return nil
        }
    }
}
