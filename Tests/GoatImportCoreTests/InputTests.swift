import Foundation
import Testing
@testable import GoatImportCore

/// Bytes handed out at most `step` per read, to exercise every buffer boundary.
func TrickleSource(_ data: [UInt8], step: Int) -> MemorySource { MemorySource(data, step: step, name: "trickle") }

func readLines(_ source: ByteSource, maxLineLength: Int = 64 * 1024, readSize: Int = 1 << 20) throws -> (lines: [String], reader: LineReader) {
    let reader = LineReader(source: source, readSize: readSize, maxLineLength: maxLineLength)
    var lines: [String] = []
    while let line = try reader.next() { lines.append(String(decoding: UnsafeBufferPointer(start: line.base, count: line.count), as: UTF8.self)) }
    return (lines, reader)
}

func gzip(_ data: [UInt8]) throws -> [UInt8] {
    let dir = TestPaths.tempDir()
    let path = dir.appendingPathComponent("x").path
    try Data(data).write(to: URL(fileURLWithPath: path))
    try run("/bin/gzip", ["-n", "-f", path])
    return Array(try Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
}

struct LineReaderTests {
    @Test("lines split across every possible read boundary", arguments: [1, 2, 3, 7, 64])
    func boundaries(step: Int) throws {
        let text = "first\nsecond line\r\n\nlast without newline"
        let (lines, reader) = try readLines(TrickleSource(Array(text.utf8), step: step), readSize: 16)
        #expect(lines == ["first", "second line", "", "last without newline"])
        #expect(reader.offset == Int64(text.utf8.count))
    }

    @Test("a line over the cap is skipped and counted; the next line is read")
    func longLine() throws {
        let long = String(repeating: "x", count: 5000)
        let text = "a\n\(long)\nb\n\(long)"
        for step in [1, 100, 100_000] {
            let (lines, reader) = try readLines(TrickleSource(Array(text.utf8), step: step), maxLineLength: 1000, readSize: 256)
            #expect(lines == ["a", "b"], "step \(step)")
            #expect(reader.tooLongLines == 2)
            #expect(reader.lineNumber == 4)
        }
    }

    @Test("a follower waits for the newline of a partial last line")
    func partialLineWaits() throws {
        let source = TrickleSource(Array("one\ntw".utf8), step: 100)
        let reader = LineReader(source: source, emitPartialLineAtEOF: false)
        #expect(try reader.next().map { $0.count } == 3)
        #expect(try reader.next() == nil)
        #expect(reader.offset == 4)
        #expect(reader.pendingBytes == 2)
    }
}

struct GzipTests {
    let text = (1...2000).map { "line \($0) of the log" }.joined(separator: "\n") + "\n"

    @Test("gzip is detected by content, not name; plain files named .gz are read as plain")
    func detection() throws {
        let dir = TestPaths.tempDir()
        let gz = dir.appendingPathComponent("access.log").path        // gzip without .gz
        let plain = dir.appendingPathComponent("plain.log.gz").path   // plain with .gz
        try Data(try gzip(Array(text.utf8))).write(to: URL(fileURLWithPath: gz))
        try Data(text.utf8).write(to: URL(fileURLWithPath: plain))
        for path in [gz, plain] {
            let (lines, _) = try readLines(try InputOpener.open(path: path))
            #expect(lines.count == 2000 && lines.last == "line 2000 of the log", "\(path)")
        }
    }

    @Test("multi-member gzip (cat a.gz b.gz) reads every member, through the prefetch thread too")
    func multiMember() throws {
        let a = try gzip(Array("a1\na2\n".utf8)), b = try gzip(Array(text.utf8)), c = try gzip([])
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("multi.gz").path
        try Data(a + c + b).write(to: URL(fileURLWithPath: path))
        let (lines, _) = try readLines(PrefetchSource(inner: try InputOpener.open(path: path), chunkSize: 4096))
        #expect(lines.count == 2002)
        #expect(lines.first == "a1" && lines.last == "line 2000 of the log")
    }

    @Test("gzip read a few bytes at a time: headers with a file name, trailers and member edges split anywhere",
          arguments: [1, 3, 10, 4096])
    func trickledMembers(step: Int) throws {
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("named.log").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try run("/bin/gzip", ["-f", path])        // without -n: the header carries the name and time
        let named = Array(try Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
        let bytes = try gzip(Array("a1\na2\n".utf8)) + named + gzip([]) + named
        let (lines, _) = try readLines(GzipSource(inner: TrickleSource(bytes, step: step)), readSize: 100)
        #expect(lines.count == 4002)
        #expect(lines.prefix(3) == ["a1", "a2", "line 1 of the log"] && lines.last == "line 2000 of the log")
    }

    /// One member with every optional header field `flags` asks for (FEXTRA 4, FNAME 8,
    /// FCOMMENT 16, FHCRC 2), built around the deflate data and trailer of `gzip -n`.
    func member(_ data: [UInt8], flags: UInt8) throws -> [UInt8] {
        let plain = try gzip(data)
        var header: [UInt8] = [0x1F, 0x8B, 8, flags, 0x78, 0x56, 0x34, 0x12, 0, 3]
        if flags & 4 != 0 { header += [5, 0] + Array("xtra\0".utf8) }
        if flags & 8 != 0 { header += Array("access.log-20261201\0".utf8) }
        if flags & 16 != 0 { header += Array("rotated by logrotate\0".utf8) }
        if flags & 2 != 0 {
            let crc = crc32(header)
            header += [UInt8(truncatingIfNeeded: crc), UInt8(truncatingIfNeeded: crc >> 8)]
        }
        return header + plain.dropFirst(10)
    }

    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// ISA-L's own inflate resumed a header split between two reads with its flags
    /// uninitialised (a stack record made afresh each call): a name ending in a later read could
    /// be followed by a "comment" that swallowed the first deflate bytes. Every combination of the
    /// optional fields, a byte or a few at a time, and `gzip -d` as the oracle.
    @Test("gzip headers with every mix of extra field, name, comment and header CRC, split between reads",
          arguments: [1, 2, 3, 7])
    func splitHeaders(step: Int) throws {
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("headers.gz").path
        for flags: UInt8 in [0, 2, 4, 8, 16, 6, 10, 18, 12, 20, 24, 14, 22, 26, 28, 30] {
            let bytes = try member(Array("h1\nh2\n".utf8), flags: flags) + member(Array(text.utf8), flags: flags)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let oracle = try run("/bin/gzip", ["-dc", path])
            #expect(oracle.status == 0, "flags \(flags): gzip -d refuses the test's own file: \(oracle.stderr)")
            let (lines, _) = try readLines(GzipSource(inner: TrickleSource(bytes, step: step)), readSize: 100)
            #expect(lines.joined(separator: "\n") + "\n" == oracle.stdout, "flags \(flags), step \(step)")
        }
    }

    @Test("after the last member: short garbage is ignored as gzip -d does; a cut-off header is a truncated file")
    func shortTail() throws {
        let whole = try gzip(Array("x\n".utf8))
        for (tail, truncated) in [([UInt8](), false), ([0], false), ([0, 0, 0], false), (Array("junk".utf8), false),
                                  ([0x1F], true), ([0x1F, 0x8B], true), ([0x1F, 0x8B, 8, 0], true), ([0x1F, 0x41], false)] {
            for step in [1, 4096] {
                let (lines, failure) = trickled(whole + tail, step: step)
                #expect(lines == ["x"], "tail \(tail), step \(step)")
                #expect((failure as? GzipError == .truncated(file: "trickle")) == truncated, "tail \(tail), step \(step): \(String(describing: failure))")
            }
        }
    }

    /// Whatever `GzipSource` gives for `bytes` handed over `step` bytes at a time: its lines and
    /// its failure.
    func trickled(_ bytes: [UInt8], step: Int) -> (lines: [String], failure: Error?) {
        linesUntilFailure(GzipSource(inner: TrickleSource(bytes, step: step)))
    }

    @Test("ten bytes that are no gzip header (a wrong magic or method): padding after a member, corrupt as the first, however they arrive")
    func notAHeader() throws {
        let whole = try gzip(Array("x\n".utf8))
        let badMethod: [UInt8] = [0x1F, 0x8B, 7, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]
        let badMagic: [UInt8] = [0x1F, 0x41, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]
        for step in [1, 2, 9, 4096] {
            for tail in [badMethod, badMagic] {
                let after = trickled(whole + tail, step: step)
                #expect(after.lines == ["x"] && after.failure == nil, "after a member, step \(step): \(String(describing: after.failure))")
            }
            let first = trickled(badMethod, step: step)
            guard case .corrupt? = first.failure as? GzipError else {
                Issue.record("a first member with a wrong method, step \(step): \(String(describing: first.failure))")
                continue
            }
        }
    }

    /// Every byte `GzipSource` gives for `bytes` arriving `step` at a time into reads of
    /// `capacity`, and its failure.
    func inflated(_ bytes: [UInt8], step: Int, capacity: Int) -> (out: [UInt8], failure: Error?) {
        let source = GzipSource(inner: TrickleSource(bytes, step: step))
        var out: [UInt8] = [], buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            do {
                let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0.baseAddress!, capacity: capacity) }
                if n == 0 { return (out, nil) }
                out += buffer[..<n]
            } catch { return (out, error) }
        }
    }

    /// ISA-L decodes ahead into a buffer of its own when the caller's is small. At the end of
    /// the input those bytes were dropped (and the member called truncated); after damage, the
    /// bytes decoded before it were. Reads of one byte, 977 bytes and a megabyte must all give
    /// every byte, and with damage every byte before it. (How far inflate gets before it sees
    /// damage or the end depends on how the input arrives, with zlib too: damaged, 60,497 bytes
    /// byte by byte and 60,516 whole, the first wrong one at the same place; cut short, 60,497
    /// and 60,496, all right. One deflate match is 258 bytes at most.)
    @Test("reads of any size get every byte, whole or damaged, and the same bytes before the damage")
    func smallReads() throws {
        let member = try gzip(Array(text.utf8))
        let bytes = try gzip(Array("a1\na2\n".utf8)) + member + member
        let want = Array("a1\na2\n".utf8) + Array(text.utf8) + Array(text.utf8)
        var damaged = bytes
        damaged[bytes.count - member.count / 2] ^= 0x55
        let reference = inflated(damaged, step: 1 << 20, capacity: 1 << 20)
        let correct = { (out: [UInt8]) in zip(out, want).prefix { $0 == $1 }.count }
        #expect(reference.failure is GzipError && correct(reference.out) > want.count / 2, "\(String(describing: reference.failure))")
        let cutShort = Array(bytes.prefix(bytes.count - member.count / 2))
        let shortReference = inflated(cutShort, step: 1 << 20, capacity: 1 << 20)
        #expect(shortReference.failure as? GzipError == .truncated(file: "trickle") && correct(shortReference.out) == shortReference.out.count)
        for step in [1, 7, 1 << 20] {
            for capacity in [1, 977, 1 << 20] where step > 1 || capacity > 1 {
                let whole = inflated(bytes, step: step, capacity: capacity)
                #expect(whole.failure == nil && whole.out == want, "step \(step), reads of \(capacity): \(whole.out.count) of \(want.count) bytes, \(String(describing: whole.failure))")
                let cut = inflated(damaged, step: step, capacity: capacity)
                #expect(correct(cut.out) == correct(reference.out) && cut.failure as? GzipError == reference.failure as? GzipError,
                        "damaged, step \(step), reads of \(capacity): \(correct(cut.out)) right bytes against \(correct(reference.out))")
                let short = inflated(cutShort, step: step, capacity: capacity)
                #expect(correct(short.out) == short.out.count && abs(short.out.count - shortReference.out.count) <= 258
                        && short.failure as? GzipError == .truncated(file: "trickle"),
                        "truncated, step \(step), reads of \(capacity): \(short.out.count) bytes against \(shortReference.out.count), \(String(describing: short.failure))")
            }
        }
    }

    /// Every line read from `path` until the input fails, and the failure.
    func readUntilFailure(_ path: String) throws -> (lines: [String], failure: Error?) {
        linesUntilFailure(try InputOpener.open(path: path))
    }

    /// Every line of `source` until it fails, and the failure.
    func linesUntilFailure(_ source: ByteSource) -> (lines: [String], failure: Error?) {
        let reader = LineReader(source: source)
        var lines: [String] = []
        do {
            while let line = try reader.next() { lines.append(String(decoding: UnsafeBufferPointer(start: line.base, count: line.count), as: UTF8.self)) }
        } catch { return (lines, error) }
        return (lines, nil)
    }

    @Test("a truncated .gz reports the file and keeps every line decoded before the cut")
    func truncated() throws {
        let full = try gzip(Array(text.utf8))
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("cut.log.gz").path
        try Data(full.prefix(full.count * 2 / 3)).write(to: URL(fileURLWithPath: path))
        let (lines, failure) = try readUntilFailure(path)
        #expect(failure as? GzipError == .truncated(file: path))
        #expect(lines.count > 500)
        #expect(lines.dropLast().enumerated().allSatisfy { $0.element == "line \($0.offset + 1) of the log" }, "no line lost or garbled before the cut")
    }

    @Test("a damaged member (its data, its CRC, its length) is a corrupt-gzip error naming the file, after the lines before it")
    func corrupt() throws {
        let first = try gzip(Array("a1\na2\n".utf8)), second = try gzip(Array(text.utf8))
        let dir = TestPaths.tempDir()
        for (what, offset) in [("data", second.count / 2), ("crc", second.count - 6), ("length", second.count - 2)] {
            var damaged = second
            damaged[offset] ^= 0x55
            let path = dir.appendingPathComponent("\(what).log.gz").path
            try Data(first + damaged).write(to: URL(fileURLWithPath: path))
            let (lines, failure) = try readUntilFailure(path)
            guard case .corrupt(let file, _)? = failure as? GzipError else {
                Issue.record("\(what): \(String(describing: failure))")
                continue
            }
            #expect(file == path)
            #expect(Array(lines.prefix(2)) == ["a1", "a2"], "\(what): the first member's lines stand")
        }
    }

    @Test("empty files, plain and gzip, give no lines and no error")
    func empty() throws {
        let dir = TestPaths.tempDir()
        let plain = dir.appendingPathComponent("empty.log").path
        let gz = dir.appendingPathComponent("empty.log.gz").path
        try Data().write(to: URL(fileURLWithPath: plain))
        try Data(try gzip([])).write(to: URL(fileURLWithPath: gz))
        #expect(try readLines(try InputOpener.open(path: plain)).lines.isEmpty)
        #expect(try readLines(try InputOpener.open(path: gz)).lines.isEmpty)
    }

    @Test("trailing zero padding after the last member is ignored, as gzip -d does")
    func padding() throws {
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("padded.gz").path
        try Data(try gzip(Array("x\n".utf8)) + [UInt8](repeating: 0, count: 512)).write(to: URL(fileURLWithPath: path))
        #expect(try readLines(try InputOpener.open(path: path)).lines == ["x"])
    }
}

struct InputOrderTests {
    @Test func rotatedSetsOldestFirst() {
        #expect(InputOrder.sorted(["access.log", "access.log.1", "access.log.10.gz", "access.log.2.gz"])
                == ["access.log.10.gz", "access.log.2.gz", "access.log.1", "access.log"])
        #expect(InputOrder.sorted(["a.log", "a.log-20261102.gz", "a.log-20261101.gz", "b.log.1", "b.log"])
                == ["a.log-20261101.gz", "a.log-20261102.gz", "a.log", "b.log.1", "b.log"])
        #expect(InputOrder.sorted(["-", "x.log"]) == ["-", "x.log"])
    }
}
