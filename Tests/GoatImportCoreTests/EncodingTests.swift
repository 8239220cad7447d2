import Foundation
import Testing
@testable import GoatImportCore

struct EncodingTests {
    func decode(_ input: String, _ style: EscapeStyle) -> [UInt8] {
        let buffer = ByteBuffer()
        let bytes = Array(input.utf8)
        bytes.withUnsafeBufferPointer { Unescape.decode($0.baseAddress!, $0.count, style, into: buffer) }
        return Array(buffer.bytes)
    }

    func json(_ bytes: [UInt8], max: Int = .max, invalid: JSONString.Invalid = .replace) -> (String, Bool) {
        let buffer = ByteBuffer()
        let clipped = bytes.withUnsafeBufferPointer { JSONString.append($0.baseAddress!, $0.count, maxCharacters: max, invalid: invalid, to: buffer) }
        return (buffer.string, clipped)
    }

    @Test func nginxEscapes() {
        #expect(decode(#"GET /search?q=\x22raw\x22 HTTP/1.1"#, .backslash) == Array(#"GET /search?q="raw" HTTP/1.1"#.utf8))
        #expect(decode(#"C:\x5CTemp"#, .backslash) == Array(#"C:\Temp"#.utf8))
        #expect(decode(#"caf\xC3\xA9"#, .backslash) == Array("café".utf8))
    }

    @Test func apacheEscapes() {
        #expect(decode(#"say \"hi\" \\ caf\xc3\xa9"#, .backslash) == Array(#"say "hi" \ café"#.utf8))
        #expect(decode(#"a\tb\nc"#, .backslash) == [97, 9, 98, 10, 99])
        #expect(decode(#"\q stays"#, .backslash) == Array(#"\q stays"#.utf8), "unknown escapes are kept")
        #expect(decode(#"end\"#, .backslash) == Array(#"end\"#.utf8), "a trailing backslash is kept")
    }

    @Test func jsonEscapes() {
        #expect(decode(#"caf\u00e9 \"q\" \/ \ud83d\ude00"#, .json) == Array("café \"q\" / 😀".utf8))
        #expect(decode(#"lone \ud800 x"#, .json) == Array("lone \u{FFFD} x".utf8), "a lone surrogate becomes U+FFFD")
    }

    @Test func jsonStringEscapingAndValidity() throws {
        let (text, clipped) = json(Array("a\"b\\c\n\u{1}é😀".utf8))
        #expect(text == #"a\"b\\c\n\u0001é😀"#)
        #expect(!clipped)
        // Invalid UTF-8 never reaches the JSON.
        let invalid: [UInt8] = [0x2F, 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0x41]
        let (replaced, _) = json(invalid)
        #expect(replaced == "/\u{FFFD}\u{FFFD}(\u{FFFD}\u{FFFD}\u{FFFD}A")
        let (encoded, _) = json(invalid, invalid: .percentEncode)
        #expect(encoded == "/%FF%C3(%ED%A0%80A")
        let object = try JSONSerialization.jsonObject(with: Data(("{\"v\":\"" + replaced + "\"}").utf8)) as? [String: String]
        #expect(object?["v"] != nil)
    }

    @Test func clippingCountsCharactersNotBytes() {
        let (ascii, c1) = json(Array(String(repeating: "a", count: 600).utf8), max: 512)
        #expect(ascii.count == 512 && c1)
        let (multi, c2) = json(Array(String(repeating: "é", count: 600).utf8), max: 512)
        #expect(multi.unicodeScalars.count == 512 && c2, "clipped on a character boundary")
        let (exact, c3) = json(Array(String(repeating: "é", count: 512).utf8), max: 512)
        #expect(exact.unicodeScalars.count == 512 && !c3)
        let (escaped, _) = json(Array(String(repeating: "\"", count: 10).utf8), max: 4)
        #expect(escaped == #"\"\"\"\""#)
    }

    @Test("a byte to escape at every place of runs around the sixteen-byte scan, with and without a clip")
    func escapeAtEveryPlace() {
        let escaped: [(UInt8, String)] = [(0x22, #"\""#), (0x5C, #"\\"#), (0x0A, #"\n"#), (0x01, #"\u0001"#),
                                          (0x7F, "\u{7F}"), (0xFF, "\u{FFFD}"), (0xC3, "\u{FFFD}")]
        for length in 1...40 {
            for k in 0..<length {
                for (byte, text) in escaped {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[k] = byte
                    let expected = String(repeating: "a", count: k) + text + String(repeating: "a", count: length - k - 1)
                    #expect(json(bytes) == (expected, false), "\(length) \(k) \(byte)")
                    // Clipped just before the byte: the plain run stops at the clip.
                    #expect(json(bytes, max: k) == (String(repeating: "a", count: k), true), "\(length) \(k) \(byte)")
                }
            }
        }
    }

    @Test("fuzz: random bytes always give valid JSON strings")
    func randomBytes() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for invalid in [JSONString.Invalid.replace, .percentEncode] {
                let (text, _) = json(bytes, max: 40, invalid: invalid)
                let object = try JSONSerialization.jsonObject(with: Data(("[\"" + text + "\"]").utf8)) as? [String]
                #expect(object?.first?.unicodeScalars.count ?? 99 <= 40)
            }
        }
    }
}

struct TimestampTests {
    func clf(_ s: String) -> Int? {
        let b = Array(s.utf8)
        return b.withUnsafeBufferPointer { Timestamp.parseCLF($0.baseAddress!, $0.count) }.map { $0.hasOffset ? $0.seconds : -1 }
    }

    func iso(_ s: String) -> (Int, Bool)? {
        let b = Array(s.utf8)
        return b.withUnsafeBufferPointer { Timestamp.parseISO8601($0.baseAddress!, $0.count) }.map { ($0.seconds, $0.hasOffset) }
    }

    @Test func commonLogTimes() {
        #expect(clf("10/Oct/2000:13:55:36 -0700") == 971211336)
        #expect(clf("27/Nov/2026:15:58:10 +0100").map(Timestamp.rfc3339) == "2026-11-27T14:58:10Z")
        #expect(clf("01/Jan/2026:00:30:00 +0100").map(Timestamp.rfc3339) == "2025-12-31T23:30:00Z", "offset crosses a year")
        #expect(clf("29/Feb/2024:12:00:00 +0000").map(Timestamp.rfc3339) == "2024-02-29T12:00:00Z")
        #expect(clf("32/Foo/2024:12:00:00 +0000") == nil)
        #expect(clf("10/Oct/2000:13:55:36 +01") == nil)
    }

    @Test func isoAndEpoch() {
        #expect(iso("2026-11-27T15:58:10+01:00")?.0 == iso("2026-11-27T14:58:10Z")?.0)
        #expect(iso("2026-11-27T14:58:10.123Z").map { Timestamp.rfc3339($0.0) } == "2026-11-27T14:58:10Z")
        #expect(iso("2026-11-27 14:58:10")?.1 == false, "no offset: --tz applies")
        let e = Array("1764255490.5".utf8)
        #expect(e.withUnsafeBufferPointer { Timestamp.parseEpoch($0.baseAddress!, $0.count) } == 1764255490)
    }

    @Test("days-from-civil agrees with Foundation across centuries")
    func civilAgreesWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for days in stride(from: 0, to: 80_000, by: 37) {
            let date = Date(timeIntervalSince1970: Double(days) * 86400)
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            #expect(Timestamp.daysFromCivil(c.year!, c.month!, c.day!) == days)
            let back = Timestamp.civilFromDays(days)
            #expect(back.year == c.year && back.month == c.month && back.day == c.day)
        }
    }

    @Test("--tz: fixed offsets and named zones with daylight saving")
    func timeZones() throws {
        let local = Timestamp.daysFromCivil(2026, 7, 1) * 86400 + 12 * 3600
        #expect(try LogTimeZone("+02:00").toUTC(local) == local - 7200)
        #expect(try LogTimeZone("-0530").toUTC(local) == local + 19800)
        let amsterdam = try LogTimeZone("Europe/Amsterdam")
        #expect(amsterdam.toUTC(local) == local - 7200, "summer time")
        let winter = Timestamp.daysFromCivil(2026, 1, 15) * 86400 + 12 * 3600
        #expect(amsterdam.toUTC(winter) == winter - 3600)
        #expect(throws: FormatError.self) { try LogTimeZone("Mars/Olympus") }
    }
}
