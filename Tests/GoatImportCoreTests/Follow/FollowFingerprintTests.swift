import Foundation
import Testing
@testable import GoatImportCore

@Suite("Follow: fingerprint and tail check")
struct FollowFingerprintTests {
    @Test func sameIdentityForPlainRenamedAndGzipCopies() throws {
        let dir = FollowTempDir()
        let text = (1...200).map { "line \($0) GET /page/\($0) HTTP/1.1\n" }.joined()
        dir.write("access.log", text)
        let plain = try #require(try FileFingerprint.compute(path: dir.file("access.log")))
        try FileManager.default.moveItem(atPath: dir.file("access.log"), toPath: dir.file("access.log.1"))
        dir.gzip("access.log.1", keep: true)
        #expect(try FileFingerprint.compute(path: dir.file("access.log.1")) == plain)
        #expect(try FileFingerprint.compute(path: dir.file("access.log.1.gz")) == plain)
        // Only the first line counts.
        dir.write("other", "line 1 GET /page/1 HTTP/1.1\nsomething else\n")
        #expect(try FileFingerprint.compute(path: dir.file("other")) == plain)
        dir.write("different", "line 2 GET /page/1 HTTP/1.1\n")
        #expect(try FileFingerprint.compute(path: dir.file("different")) != plain)
        #expect(FileFingerprint(hex: plain.hex) == plain)
        #expect(plain.hex.count == 16)
    }

    @Test func noIdentityUntilFirstLineIsComplete() throws {
        let dir = FollowTempDir()
        dir.write("access.log", "")
        #expect(try FileFingerprint.compute(path: dir.file("access.log")) == nil)
        dir.append("access.log", "127.0.0.1 - - [27/Nov/2026")
        #expect(try FileFingerprint.compute(path: dir.file("access.log")) == nil)
        dir.append("access.log", ":10:00:00 +0000] \"GET / HTTP/1.1\" 200\n")
        #expect(try FileFingerprint.compute(path: dir.file("access.log")) != nil)
    }

    @Test func longFirstLineHashesFirstBytes() throws {
        let dir = FollowTempDir()
        let cap = FileFingerprint.maxBytes
        dir.write("a", String(repeating: "x", count: cap + 500))  // no newline, but over the cap: has an identity
        dir.write("b", String(repeating: "x", count: cap) + "different tail\n")
        let a = try #require(try FileFingerprint.compute(path: dir.file("a")))
        #expect(try FileFingerprint.compute(path: dir.file("b")) == a)
        dir.write("c", String(repeating: "x", count: cap - 1))
        #expect(try FileFingerprint.compute(path: dir.file("c")) == nil)
    }

    @Test("directive lines do not end the identity: W3C files sharing their header are told apart by their first request")
    func directivesAreNotEnough() throws {
        let header = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time cs-uri-stem\n"
        let a = try #require(FileFingerprint.compute(head: Array((header + "2026-11-27 10:00:00 /a\n").utf8)))
        let b = try #require(FileFingerprint.compute(head: Array((header + "2026-11-27 10:00:00 /b\n").utf8)))
        #expect(a != b)
        #expect(FileFingerprint.compute(head: Array(header.utf8)) == nil, "only directives: too short to tell")
        // The legacy identity (first line only) is what older releases stored: the same for both.
        #expect(FileFingerprint.legacy(head: Array((header + "x\n").utf8)) == FileFingerprint.legacy(head: Array(header.utf8)))
        // For a log that starts with a request line, the identity is unchanged from older releases.
        let nginx = Array("203.0.113.1 - - [27/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5\nmore\n".utf8)
        #expect(FileFingerprint.compute(head: nginx) == FileFingerprint.legacy(head: nginx))
    }

    @Test func tailCheckPlainAndGzip() throws {
        let dir = FollowTempDir()
        let text = (1...50).map { "request \($0)\n" }.joined()
        dir.write("access.log.1", text)
        dir.gzip("access.log.1", keep: true)
        let bytes = Array(text.utf8)
        for offset in [0, 10, 64, 65, 200, bytes.count] {
            let expected = TailCheck.hash(bytes[max(0, offset - 64)..<offset])
            #expect(try TailCheck.hash(path: dir.file("access.log.1"), before: Int64(offset)) == expected)
            #expect(try TailCheck.hash(path: dir.file("access.log.1.gz"), before: Int64(offset)) == expected)
        }
        #expect(try TailCheck.hash(path: dir.file("access.log.1"), before: Int64(bytes.count + 1)) == nil)
        #expect(try TailCheck.hash(path: dir.file("access.log.1.gz"), before: Int64(bytes.count + 1)) == nil)
        #expect(TailCheck.hash([1, 2, 3]) != TailCheck.hash([1, 2, 4]))
    }
}
