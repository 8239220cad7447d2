import Foundation

/// One page of `GET /api/v0/stats/hits`: pageviews per path, counted per day. The server sends
/// at most `limit` paths (100 at most) and `more` when there are others; the next page asks
/// again with the paths already seen in `exclude_paths`.
public struct HitStatsPage: Decodable, Sendable {
    public var hits: [PathStats]
    public var more: Bool

    enum CodingKeys: String, CodingKey { case hits, more }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // 2.7.0 answers `"hits": null` for a site without pageviews in the range.
        hits = try c.decodeIfPresent([PathStats].self, forKey: .hits) ?? []
        more = try c.decodeIfPresent(Bool.self, forKey: .more) ?? false
    }
}

/// One path's counts. The statistics keep no individual time nor visit: a day's `daily` and its
/// `hourly` counts are all there is below the day.
public struct PathStats: Decodable, Sendable {
    public var pathID: Int
    public var path: String
    public var title: String
    public var event: Bool
    public var count: Int
    public var days: [DayStats]

    enum CodingKeys: String, CodingKey {
        case pathID = "path_id", path, title, event, count, days = "stats"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pathID = try c.decode(Int.self, forKey: .pathID)
        path = try c.decode(String.self, forKey: .path)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        event = try c.decodeIfPresent(Bool.self, forKey: .event) ?? false
        count = try c.decodeIfPresent(Int.self, forKey: .count) ?? 0
        days = try c.decodeIfPresent([DayStats].self, forKey: .days) ?? []
    }
}

/// `day` is `yyyy-mm-dd` in the site's time zone as the server reports it; `hourly` its 24 hours
/// (visits, like `daily`; empty when the reply has none).
public struct DayStats: Decodable, Sendable, Equatable {
    public var day: String
    public var daily: Int
    public var hourly: [Int]

    enum CodingKeys: String, CodingKey { case day, daily, hourly }

    public init(day: String, daily: Int, hourly: [Int] = []) {
        self.day = day
        self.daily = daily
        self.hourly = hourly
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        day = try c.decode(String.self, forKey: .day)
        daily = try c.decodeIfPresent(Int.self, forKey: .daily) ?? 0
        hourly = try c.decodeIfPresent([Int].self, forKey: .hourly) ?? []
    }

    /// Equal counts on the same day: two sites agree per day whichever hours their visits fell in
    /// (a rebuild from the statistics places them, a log import has their own times).
    public static func == (a: DayStats, b: DayStats) -> Bool { a.day == b.day && a.daily == b.daily }
}
