/// Log timestamps to Unix seconds and back to RFC 3339, by hand.
///
/// Foundation's formatters cost about 22 µs a line; these cost tens of nanoseconds, and a
/// one-entry cache skips even that for the many lines that share a second.
public enum Timestamp {
    static let months: [UInt32: Int] = {
        var table: [UInt32: Int] = [:]
        for (i, name) in ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].enumerated() {
            let b = Array(name.utf8)
            table[UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])] = i + 1
        }
        return table
    }()

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inline(__always)
    public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    @inline(__always)
    public static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    @inline(__always)
    static func digits(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        var v = 0
        for i in 0..<n {
            let d = Int(p[i]) &- 48
            if d < 0 || d > 9 { return nil }
            v = v * 10 + d
        }
        return v
    }

    static func valid(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Bool {
        y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60
    }

    /// `10/Oct/2000:13:55:36 -0700`. Without an offset (`hasOffset` false) the time is local
    /// to `--tz` and the caller applies it.
    public static func parseCLF(_ p: UnsafePointer<UInt8>, _ count: Int) -> (seconds: Int, hasOffset: Bool)? {
        // Day may have one digit in hand-made logs.
        var i = 0
        let dayDigits = count > 1 && p[1] == UInt8(ascii: "/") ? 1 : 2
        guard count >= 19 + dayDigits, let day = digits(p, dayDigits) else { return nil }
        i = dayDigits
        guard p[i] == UInt8(ascii: "/"), p[i + 4] == UInt8(ascii: "/"), p[i + 9] == UInt8(ascii: ":") else { return nil }
        let key = UInt32(p[i + 1] | 0x20) << 16 | UInt32(p[i + 2] | 0x20) << 8 | UInt32(p[i + 3] | 0x20)
        guard let month = months[key], let year = digits(p + i + 5, 4),
              let hour = digits(p + i + 10, 2), p[i + 12] == UInt8(ascii: ":"),
              let minute = digits(p + i + 13, 2), p[i + 15] == UInt8(ascii: ":"),
              let second = digits(p + i + 16, 2), valid(year, month, day, hour, minute, second) else { return nil }
        var seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
        i += 18
        // Fractions (some servers log milliseconds) are dropped.
        if i < count, p[i] == UInt8(ascii: ".") { i += 1; while i < count, p[i] >= 48 && p[i] <= 57 { i += 1 } }
        if i == count { return (seconds, false) }
        guard p[i] == UInt8(ascii: " "), let offset = parseOffset(p + i + 1, count - i - 1) else { return nil }
        seconds -= offset
        return (seconds, true)
    }

    /// `+0100`, `-07:00`, `Z`: seconds east of UTC.
    static func parseOffset(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        if count == 1 && (p[0] == UInt8(ascii: "Z") || p[0] == UInt8(ascii: "z")) { return 0 }
        guard count == 5 || count == 6, p[0] == UInt8(ascii: "+") || p[0] == UInt8(ascii: "-") else { return nil }
        guard let h = digits(p + 1, 2) else { return nil }
        let mStart = count == 6 ? 4 : 3
        if count == 6 && p[3] != UInt8(ascii: ":") { return nil }
        guard let m = digits(p + mStart, 2), h <= 23, m <= 59 else { return nil }
        let value = h * 3600 + m * 60
        return p[0] == UInt8(ascii: "-") ? -value : value
    }

    /// `2000-10-10T13:55:36-07:00`, with optional fraction; a space may stand for the `T`.
    public static func parseISO8601(_ p: UnsafePointer<UInt8>, _ count: Int) -> (seconds: Int, hasOffset: Bool)? {
        guard count >= 19, let year = digits(p, 4), p[4] == UInt8(ascii: "-"), let month = digits(p + 5, 2),
              p[7] == UInt8(ascii: "-"), let day = digits(p + 8, 2),
              p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: " ") || p[10] == UInt8(ascii: "t"),
              let hour = digits(p + 11, 2), p[13] == UInt8(ascii: ":"), let minute = digits(p + 14, 2),
              p[16] == UInt8(ascii: ":"), let second = digits(p + 17, 2),
              valid(year, month, day, hour, minute, second) else { return nil }
        var seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
        var i = 19
        if i < count, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",") {
            i += 1
            while i < count, p[i] >= 48 && p[i] <= 57 { i += 1 }
        }
        if i == count { return (seconds, false) }
        guard let offset = parseOffset(p + i, count - i) else { return nil }
        seconds -= offset
        return (seconds, true)
    }

    /// `1700000000.123`: seconds since the epoch; the fraction is dropped.
    public static func parseEpoch(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        var v = 0
        var i = 0
        while i < count, p[i] >= 48 && p[i] <= 57 { v = v * 10 + Int(p[i] - 48); i += 1; if i > 12 { return nil } }
        guard i > 0 else { return nil }
        if i < count {
            guard p[i] == UInt8(ascii: ".") else {
                // Scientific notation from a JSON writer: 1.7e9.
                return parseScientific(p, count)
            }
            var j = i + 1
            while j < count, p[j] >= 48 && p[j] <= 57 { j += 1 }
            if j < count { return parseScientific(p, count) }
        }
        return v
    }

    private static func parseScientific(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        let text = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        guard let value = Double(text), value.isFinite, value >= 0, value < 1e12 else { return nil }
        return Int(value)
    }

    /// `1507167062421`: milliseconds since the epoch; the milliseconds are dropped.
    public static func parseEpochMillis(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        guard count >= 4, count <= 15, let ms = digits(p, count) else { return nil }
        return ms / 1000
    }

    /// A `date` (`2000-10-10`, or `2000/10/10` as Caddy's console log writes it) and a `time`
    /// (`13:55:36`, a fraction is dropped) field, as W3C logs write them.
    public static func parseDateAndTime(_ d: UnsafePointer<UInt8>, _ dn: Int, _ t: UnsafePointer<UInt8>, _ tn: Int) -> Int? {
        let separator = dn == 10 ? d[4] : 0
        guard dn == 10, tn >= 8, separator == UInt8(ascii: "-") || separator == UInt8(ascii: "/"),
              let year = digits(d, 4), let month = digits(d + 5, 2),
              d[7] == separator, let day = digits(d + 8, 2), let hour = digits(t, 2), t[2] == UInt8(ascii: ":"),
              let minute = digits(t + 3, 2), t[5] == UInt8(ascii: ":"), let second = digits(t + 6, 2),
              valid(year, month, day, hour, minute, second) else { return nil }
        return daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    }

    /// Writes `2000-10-10T20:55:36Z` (20 bytes) at `out`.
    @inline(__always)
    public static func writeRFC3339(_ seconds: Int, to out: UnsafeMutablePointer<UInt8>) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rem = seconds - days * 86400
        let (y, m, d) = civilFromDays(days)
        @inline(__always) func two(_ v: Int, _ at: Int) {
            out[at] = UInt8(truncatingIfNeeded: 48 + v / 10)
            out[at + 1] = UInt8(truncatingIfNeeded: 48 + v % 10)
        }
        two(y / 100, 0); two(y % 100, 2)
        out[4] = UInt8(ascii: "-"); two(m, 5)
        out[7] = UInt8(ascii: "-"); two(d, 8)
        out[10] = UInt8(ascii: "T"); two(rem / 3600, 11)
        out[13] = UInt8(ascii: ":"); two(rem / 60 % 60, 14)
        out[16] = UInt8(ascii: ":"); two(rem % 60, 17)
        out[19] = UInt8(ascii: "Z")
    }

    public static func rfc3339(_ seconds: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeMutableBufferPointer { writeRFC3339(seconds, to: $0.baseAddress!) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
