/// The wrappers container runtimes put around each line a program writes: Docker's json-file
/// driver (`{"log":"…\n","stream":"stdout","time":"…"}`) and the CRI format of Kubernetes
/// nodes (`2026-11-30T12:00:00.123456789Z stdout F …`).
public enum ContainerLog: String, Sendable, CaseIterable {
    case docker, cri, none

    /// What the wrapper is, for people.
    public var title: String {
        switch self {
        case .docker: return "Docker json-file"
        case .cri: return "CRI (Kubernetes node)"
        case .none: return "plain"
        }
    }

    /// The wrapper the first non-empty line of a sample is in; `.none` for a plain log.
    public static func detect(_ lines: [[UInt8]]) -> ContainerLog {
        guard let first = lines.first(where: { !$0.isEmpty }) else { return .none }
        return first.withUnsafeBufferPointer { p in
            if DockerLine.parse(p.baseAddress!, p.count) != nil { return .docker }
            if CRILine.parse(p.baseAddress!, p.count) != nil { return .cri }
            return .none
        }
    }

    /// The access lines inside a sample's lines (for format detection); stderr and the
    /// wrappers' own noise are left out, parts are joined.
    public func unwrap(_ lines: [[UInt8]]) -> [[UInt8]] {
        guard self != .none else { return lines }
        var bytes: [UInt8] = []
        for line in lines { bytes += line; bytes.append(0x0A) }
        let decoder = ContainerLineDecoder(kind: self, reader: LineReader(source: MemorySource(bytes, name: "sample"), readSize: 1 << 16))
        var out: [[UInt8]] = []
        while let record = try? decoder.next() {
            if record.stream == .stdout && record.problem == nil {
                out.append(Array(UnsafeBufferPointer(start: record.line.base, count: record.line.count)))
            }
        }
        return out
    }
}

/// One Docker json-file line: `log` (a JSON string, escapes left in place) and the stream.
struct DockerLine {
    var log: (start: Int, end: Int)
    var stderr: Bool

    static func parse(_ p: UnsafePointer<UInt8>, _ count: Int) -> DockerLine? {
        var s = JSONLineParser.Scanner(base: p, end: count)
        s.skipSpace()
        guard s.consume(UInt8(ascii: "{")) else { return nil }
        var log: (start: Int, end: Int)?
        var stderr: Bool?
        while true {
            s.skipSpace()
            guard let key = s.string() else { return nil }
            s.skipSpace()
            guard s.consume(UInt8(ascii: ":")) else { return nil }
            s.skipSpace()
            if s.keyEquals(key, Self.logKey) {
                guard s.peek == UInt8(ascii: "\""), let value = s.string() else { return nil }
                log = value
            } else if s.keyEquals(key, Self.streamKey) {
                guard s.peek == UInt8(ascii: "\""), let value = s.string() else { return nil }
                let v = UnsafeBufferPointer(start: p + value.start, count: value.end - value.start)
                if v.elementsEqual("stdout".utf8) { stderr = false } else if v.elementsEqual("stderr".utf8) { stderr = true } else { return nil }
            } else if !s.skipValue() { return nil }
            s.skipSpace()
            if s.consume(UInt8(ascii: ",")) { continue }
            guard s.consume(UInt8(ascii: "}")), let log, let stderr else { return nil }
            return DockerLine(log: log, stderr: stderr)
        }
    }

    private static let logKey = Array("log".utf8)
    private static let streamKey = Array("stream".utf8)
}

/// One CRI line: `TIME STREAM TAGS CONTENT`, TAGS being `P` (a part) or `F` (the last part),
/// possibly followed by more `:`-separated tags.
struct CRILine {
    var content: Int
    var stderr: Bool
    var partial: Bool

    static func parse(_ p: UnsafePointer<UInt8>, _ count: Int) -> CRILine? {
        // RFC 3339 time: a digit first, a `T` at 10, then up to the first space.
        guard count > 20, p[0] >= 0x30 && p[0] <= 0x39, p[4] == UInt8(ascii: "-"), p[10] == UInt8(ascii: "T") else { return nil }
        var i = 11
        while i < count && p[i] != 0x20 { i += 1 }
        i += 1
        let stderr: Bool
        if Self.word(p, count, i, "stdout") { stderr = false } else if Self.word(p, count, i, "stderr") { stderr = true } else { return nil }
        i += 7
        guard i < count, p[i] == UInt8(ascii: "P") || p[i] == UInt8(ascii: "F") else { return nil }
        let partial = p[i] == UInt8(ascii: "P")
        while i < count && p[i] != 0x20 { i += 1 }
        // A last part with no content has no space after its tag.
        return CRILine(content: min(i + 1, count), stderr: stderr, partial: partial)
    }

    private static func word(_ p: UnsafePointer<UInt8>, _ count: Int, _ at: Int, _ w: StaticString) -> Bool {
        let n = w.utf8CodeUnitCount
        guard at + n < count, p[at + n] == 0x20 else { return false }
        return memcmp(p + at, w.utf8Start, n) == 0
    }
}


#if canImport(Glibc)
import Glibc
#endif
