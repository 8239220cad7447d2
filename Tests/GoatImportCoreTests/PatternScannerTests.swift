import Foundation
import Testing
@testable import GoatImportCore

/// The scanner must answer exactly as PCRE2 does for the patterns it takes: the same lines
/// matched, the same group offsets. PCRE2 is the oracle here, line by line, on real fixtures,
/// on every one-byte edit of real lines, and on random lines of the bytes that matter.
@Suite("Pattern scanner against PCRE2")
struct PatternScannerTests {
    /// The built-in regex formats and the patterns PCRE2 compiles for them.
    static let builtins: [(name: String, pattern: String, extended: Bool)] = BuiltinFormats.all.compactMap {
        guard case .regex(let segments, let extended) = $0.body else { return nil }
        return ($0.name, segments.joined(separator: extended ? "\n" : ""), extended)
    }

    /// Patterns the scanner takes: the built-ins it decides, and what the nginx and Apache
    /// translators make of their default combined formats.
    static let scanned: [(name: String, pattern: String, extended: Bool)] = {
        var result = builtins.filter { PatternScanner(pattern: $0.pattern, extended: $0.extended) != nil }
        let translated = [
            ("nginx combined", try! LogFormat.resolve(#"nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#)),
            ("apache combined", try! LogFormat.resolve(#"apache:%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#)),
        ]
        for (name, format) in translated {
            guard case .regex(let segments, let extended) = format.body else { continue }
            result.append((name, segments.joined(separator: extended ? "\n" : ""), extended))
        }
        return result
    }()

    @Test("the CLF family is scanned; formats with other pieces stay on PCRE2")
    func whichFormats() throws {
        let names = Set(Self.builtins.filter { PatternScanner(pattern: $0.pattern, extended: $0.extended) != nil }.map(\.name))
        #expect(names.isSuperset(of: ["combined", "common"]))
        #expect(!names.contains("combined-vhost"), "an alternation is PCRE2's to decide")
        for (name, pattern, extended) in Self.scanned where !Self.builtins.contains(where: { $0.name == name }) {
            #expect(PatternScanner(pattern: pattern, extended: extended) != nil, "\(name): \(pattern)")
        }
        #expect(try RegexLineParser(pattern: Self.builtins.first { $0.name == "combined" }!.pattern, extended: true,
                                    escapes: .backslash).scans)
    }

    @Test("patterns a scan cannot decide are refused", arguments: [
        #"^(?<remote_addr>\S+):\S+"#,          // \S+ before a byte it can contain
        #"^\S+\S+"#,                           // two runs back to back
        #"^"(?<request>[^"\\]*(?:\\.[^"\\]*)*)x"#,   // the quoted body not closed by a quote
        #"^(?<status>\d+)1"#,                  // digits before a digit
        #"^\[[^\]]+x"#,                        // a bracket run not closed by ]
        #"^(\S+) x"#,                          // an unnamed capture group
        #"^\S+ # a comment"#,                  // extended comments
        #"(?<remote_addr>\S+)"#,               // no ^: PCRE2 searches
        #"^.*"#,
        #"^\S+$ x"#,
    ])
    func refused(_ pattern: String) {
        #expect(PatternScanner(pattern: pattern, extended: true) == nil)
    }

    /// Lines every scanned pattern must agree with PCRE2 on: the fixtures of every format (most
    /// do not match), and the edges of each piece.
    static let lines: [[UInt8]] = {
        var lines: [[UInt8]] = []
        let fixtures = FileManager.default.enumerator(atPath: TestPaths.fixtures.path)!
        for case let file as String in fixtures where file.hasSuffix(".log") {
            let data = FileManager.default.contents(atPath: TestPaths.fixture(file)) ?? Data()
            lines += data.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        }
        let edges = [
            "", "-", " ", "1.2.3.4", "1.2.3.4 - - [", "1.2.3.4 - - []",
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 5"#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 - "-" "ua""#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /\"x\" HTTP/1.1" 200 - "-" "a \\ b""#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1\" 200 - "-" "ua""#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 2000 - "-" "ua""#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 12- "-" "ua""#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 -- "-" "ua""#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 - "-" "ua" trailing"#,
            #"1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 - "-" "ua\"#,
            "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 - \"-\" \"ua\\\n\"",
            "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 - \"-\" \"ua\"\n",
            "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 -\n",
            "1.2.3.4\t- - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 - \"-\" \"ua\"",
            "1.2.3.4 - - [01/Jan\n2026] \"GET /\n HTTP/1.1\" 200 - \"-\" \"ua\"",
        ]
        lines += edges.map { Array($0.utf8) }
        lines.append(Array("1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET /\u{FF} HTTP/1.1\" 200 - \"\u{85}\" \"\u{A0}\"".utf8))
        lines.append([0xFF, 0x20, 0x85, 0x20, 0xA0, 0x20, 0x5B, 0xFF, 0x5D, 0x20, 0x22, 0x5C, 0xFF, 0x22, 0x20, 0x32, 0x30, 0x30, 0x20, 0x2D])
        return lines
    }()

    @Test("fixture lines and the edges of each piece: the same matches and offsets as PCRE2")
    func fixturesAndEdges() throws {
        for (name, pattern, extended) in Self.scanned {
            let check = try Oracle(pattern: pattern, extended: extended)
            var matched = 0
            for line in Self.lines { matched += check.agree(line, name) ? 1 : 0 }
            #expect(matched > 10, "\(name): the corpus should exercise matches too")
        }
    }

    @Test("every one-byte deletion, replacement and insertion in real lines")
    func oneByteEdits() throws {
        let bytes: [UInt8] = [0x20, 0x22, 0x5C, 0x5B, 0x5D, 0x0A, 0x09, 0x0B, 0x0D, 0x2D, 0x30, 0x39, 0x78, 0xFF, 0x00, 0x24]
        for (name, pattern, extended) in Self.scanned {
            let check = try Oracle(pattern: pattern, extended: extended)
            // Lines of this pattern's own format, so that each edit lands in a piece that matters.
            let real = Self.lines.filter { check.agree($0, name) }.prefix(40)
            #expect(real.count >= 10, "\(name)")
            var edits = 0
            for line in real {
                for i in 0...line.count {
                    if i < line.count {
                        var deleted = line; deleted.remove(at: i)
                        _ = check.agree(deleted, name)
                    }
                    for b in bytes {
                        var inserted = line; inserted.insert(b, at: i)
                        _ = check.agree(inserted, name)
                        if i < line.count {
                            var replaced = line; replaced[i] = b
                            _ = check.agree(replaced, name)
                        }
                        edits += 2
                    }
                }
            }
            #expect(edits > 50_000)
            #expect(check.disagreements == 0, "\(name)")
        }
    }

    @Test("random lines from the bytes that steer each piece")
    func randomLines() throws {
        var rng = FollowRNG(seed: 0x5CA9)
        let alphabet: [UInt8] = Array(#" "\[]-0123456789aZ/:+"#.utf8) + [0x0A, 0x09, 0x0D, 0xFF, 0x5C, 0x5C]
        for (name, pattern, extended) in Self.scanned {
            let check = try Oracle(pattern: pattern, extended: extended)
            // Lines of this format cut at random and spliced with random runs, so the deep pieces are reached.
            let real = Self.lines.filter { check.agree($0, name) }
            for _ in 0..<20_000 {
                var line = real[Int(rng.next() % UInt64(real.count))]
                let cut = Int(rng.next() % UInt64(line.count + 1))
                line.removeSubrange(cut...)
                for _ in 0..<Int(rng.next() % 12) { line.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
                _ = check.agree(line, name)
            }
            #expect(check.disagreements == 0, "\(name)")
        }
    }

    /// One pattern on PCRE2 and on the scanner; records each line they disagree on.
    final class Oracle {
        let regex: PCRE2Regex
        let scan: PatternScan
        /// The scan's slots laid out as PCRE2's ovector (group 0 from the match's end).
        let slots: UnsafeMutablePointer<Int>
        let groupCount: Int
        var disagreements = 0

        init(pattern: String, extended: Bool) throws {
            regex = try PCRE2Regex(pattern, extended: extended)
            let scanner = try #require(PatternScanner(pattern: pattern, extended: extended))
            groupCount = scanner.groupCount
            #expect(groupCount == regex.captureCount + 1)
            scan = PatternScan(scanner) { $0 }
            slots = .allocate(capacity: 2 * groupCount)
        }

        deinit { slots.deallocate() }

        /// Whether the line matched (on both).
        func agree(_ line: [UInt8], _ name: String) -> Bool {
            slots.update(repeating: -2, count: 2 * groupCount)
            let (pcre, end) = line.withUnsafeBufferPointer { buffer in
                let base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
                return (regex.matches(base, buffer.count), scan.match(base, buffer.count, into: slots))
            }
            slots[0] = 0
            slots[1] = end
            var same = pcre == (end >= 0)
            if same && pcre {
                for g in 0..<groupCount where regex.start(g) != slots[2 * g] || regex.end(g) != slots[2 * g + 1] {
                    same = false
                }
            }
            if !same {
                disagreements += 1
                if disagreements <= 5 {
                    Issue.record("\(name): PCRE2 \(pcre), scanner \(end >= 0) on \(PrintableText.from(line.withUnsafeBufferPointer { $0 }))")
                }
            }
            return pcre
        }
    }
}
