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

/// One path's counts. The statistics keep no individual time nor visit: a day's `daily` is all
/// there is below the day (plus `hourly`, which goatimport does not use).
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

/// `day` is `yyyy-mm-dd` in the site's time zone as the server reports it.
public struct DayStats: Decodable, Sendable, Equatable {
    public var day: String
    public var daily: Int
}
