/// One row of a statistics breakdown: `GET /api/v0/stats/{page}` (`browsers`, `systems`,
/// `locations`, `sizes`, `campaigns`, `toprefs`) and a path's referrers,
/// `GET /api/v0/stats/hits/{path_id}`. Counts are visits.
///
/// What `id` holds depends on the page (read on a real 2.7.0): a location's ISO code (`BR`,
/// `(unknown)`), a size class (`phone`, `largephone`, `tablet`, `desktop`, `desktophd`,
/// `unknown`; `name` empty), a browser's name. Referrers have no `id`: `name` is the stored
/// referrer (2.7 keeps whole URLs, `https://duckduckgo.com`; a campaign's name; a group's name
/// such as `Google`) and `ref_scheme` how it was classed (`h`, `o`, `c`, `g`; absent for none).
public struct StatsEntry: Decodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var count: Int
    public var refScheme: String

    enum CodingKeys: String, CodingKey { case id, name, count, refScheme = "ref_scheme" }

    public init(id: String = "", name: String = "", count: Int, refScheme: String = "") {
        self.id = id
        self.name = name
        self.count = count
        self.refScheme = refScheme
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        count = try c.decodeIfPresent(Int.self, forKey: .count) ?? 0
        refScheme = try c.decodeIfPresent(String.self, forKey: .refScheme) ?? ""
    }
}

/// One page of a breakdown: the rows are under `stats` (`/stats/{page}`) or `refs`
/// (`/stats/hits/{path_id}`); `more` when the next `offset` has others.
public struct StatsEntriesPage: Decodable, Sendable {
    public var entries: [StatsEntry]
    public var more: Bool

    enum CodingKeys: String, CodingKey { case stats, refs, more }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entries = try c.decodeIfPresent([StatsEntry].self, forKey: .stats)
            ?? c.decodeIfPresent([StatsEntry].self, forKey: .refs) ?? []
        more = try c.decodeIfPresent(Bool.self, forKey: .more) ?? false
    }
}
