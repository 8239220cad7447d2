import Foundation

/// The zone of timestamps that carry no offset (`--tz`): UTC, a fixed offset such as
/// `+01:00`, or an IANA name such as `Europe/Amsterdam` (daylight saving applied per hour).
/// `toUTC` keeps a cache: one instance per thread (`copy()` gives each parse lane its own).
public final class LogTimeZone: @unchecked Sendable {
    private enum Kind { case fixed(Int), named(TimeZone) }
    private let kind: Kind
    public let name: String
    // Offsets change at most on the hour; remember the last hour looked up.
    private var cachedHour = Int.min
    private var cachedOffset = 0

    public static let utc = LogTimeZone(fixed: 0, name: "UTC")

    private init(fixed: Int, name: String) { kind = .fixed(fixed); self.name = name }

    private init(kind: Kind, name: String) { self.kind = kind; self.name = name }

    /// The same zone with a cache of its own.
    public func copy() -> LogTimeZone { LogTimeZone(kind: kind, name: name) }

    public init(_ spec: String) throws {
        name = spec
        if spec == "UTC" || spec == "Z" || spec == "utc" { kind = .fixed(0); return }
        let bytes = Array(spec.utf8)
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            let offset = bytes.withUnsafeBufferPointer { Timestamp.parseOffset($0.baseAddress!, $0.count) }
            guard let offset else { throw FormatError.unsupported("--tz \(spec): expected UTC, +HH:MM, -HHMM or a zone name such as Europe/Amsterdam") }
            kind = .fixed(offset)
            return
        }
        guard let zone = TimeZone(identifier: spec) else {
            throw FormatError.unsupported("--tz \(spec): unknown time zone; expected UTC, +HH:MM or a zone name such as Europe/Amsterdam")
        }
        kind = .named(zone)
    }

    /// UTC seconds for a wall-clock time in this zone, given as if it were UTC.
    public func toUTC(_ localSeconds: Int) -> Int {
        switch kind {
        case .fixed(let offset):
            return localSeconds - offset
        case .named(let zone):
            let hour = localSeconds / 3600
            if hour != cachedHour {
                // The offset at (local - offset) is what we want; one refinement settles DST edges.
                var offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds)))
                offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds - offset)))
                cachedHour = hour
                cachedOffset = offset
            }
            return localSeconds - cachedOffset
        }
    }
}
