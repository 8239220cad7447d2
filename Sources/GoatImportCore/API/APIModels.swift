import Foundation

// The models of GoatCounter's API document (0.1), named as it names them.
//
// Decoding is lenient: unknown keys are ignored, and a known key whose value has an unexpected
// type (GoatCounter has changed a few, e.g. `number_format` is a number on current servers and
// a string in the document) reads as absent instead of failing the whole reply. Encoding sends
// only the fields the document does not mark read-only, and only those that are set: a PATCH
// then changes exactly what the caller set.

// MARK: - Helpers

extension KeyedDecodingContainer {
    /// The value, or nil when the key is absent, null or of another type.
    func lenient<T: Decodable>(_ key: Key) -> T? {
        (try? decodeIfPresent(T.self, forKey: key)) ?? nil
    }

    /// An RFC 3339 time (Go writes fractions when there are any), or nil.
    func time(_ key: Key) -> Date? {
        guard let text: String = lenient(key) else { return nil }
        return APITime.parse(text)
    }
}

/// RFC 3339 times as Go writes them.
public enum APITime {
    public static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    /// `2026-11-27T15:00:23Z`.
    public static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

/// Any JSON value: for fields whose shape the document leaves open (`access`, `widgets`,
/// `timezone`) or that differ between server versions.
public enum JSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : "\(n)"
        case .string(let s): return s
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\($0): \(o[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
}

// MARK: - User and token

/// `goatcounter.APIToken`: permissions are bit flags (GoatCounter's `APIPerm*`, `1 << iota`).
public struct APIToken: Codable, Sendable {
    public var name: String?
    public var permissions: Int
    /// The site ids the key may use; `[-1]` means all sites. Only newer servers send it.
    public var sites: [Int]?

    public init(name: String? = nil, permissions: Int, sites: [Int]? = nil) {
        self.name = name
        self.permissions = permissions
        self.sites = sites
    }

    enum CodingKeys: String, CodingKey { case name, permissions, sites }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = c.lenient(.name)
        permissions = try c.decode(Int.self, forKey: .permissions)
        sites = c.lenient(.sites)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encode(permissions, forKey: .permissions)
    }

    public struct Permissions: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let count = Permissions(rawValue: 1 << 1)
        public static let export = Permissions(rawValue: 1 << 2)
        public static let siteRead = Permissions(rawValue: 1 << 3)
        public static let siteCreate = Permissions(rawValue: 1 << 4)
        public static let siteUpdate = Permissions(rawValue: 1 << 5)
        public static let stats = Permissions(rawValue: 1 << 6)

        public static let names: [(Permissions, String)] = [
            (.count, "record pageviews"), (.export, "export"), (.siteRead, "read sites"),
            (.siteCreate, "create sites"), (.siteUpdate, "update sites"), (.stats, "read statistics"),
        ]

        /// The permissions in words, in the order of the settings page.
        public var words: [String] { Self.names.filter { contains($0.0) }.map(\.1) }
    }

    public var permissionSet: Permissions { Permissions(rawValue: permissions) }

    /// Whether the key may be used on the site with this id, as far as the reply says (nil:
    /// the server did not send `sites`).
    public func allowsSite(_ id: Int) -> Bool? {
        guard let sites else { return nil }
        return sites.contains(-1) || sites.contains(id)
    }
}

/// `goatcounter.UserSettings`.
public struct UserSettings: Codable, Sendable {
    public var twentyFourHours: Bool?
    public var sundayStartsWeek: Bool?
    public var language: String?
    public var dateFormat: String?
    /// A string in the document, a number (a rune) on current servers.
    public var numberFormat: JSONValue?
    /// A zone name on current servers, a `tz.Zone` object in the document.
    public var timezone: JSONValue?
    public var widgets: [JSONValue]?
    public var views: [View]?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case twentyFourHours = "twenty_four_hours", sundayStartsWeek = "sunday_starts_week", language
        case dateFormat = "date_format", numberFormat = "number_format", timezone, widgets, views
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        twentyFourHours = c.lenient(.twentyFourHours)
        sundayStartsWeek = c.lenient(.sundayStartsWeek)
        language = c.lenient(.language)
        dateFormat = c.lenient(.dateFormat)
        numberFormat = c.lenient(.numberFormat)
        timezone = c.lenient(.timezone)
        widgets = c.lenient(.widgets)
        views = c.lenient(.views)
    }
}

/// `goatcounter.View`.
public struct View: Codable, Sendable {
    public var name: String?
    public var filter: String?
    public var daily: Bool?
    /// "week", "week-cur", or n days: "8".
    public var period: String?

    public init(name: String? = nil, filter: String? = nil, daily: Bool? = nil, period: String? = nil) {
        self.name = name
        self.filter = filter
        self.daily = daily
        self.period = period
    }

    enum CodingKeys: String, CodingKey { case name, filter, daily, period }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = c.lenient(.name)
        filter = c.lenient(.filter)
        daily = c.lenient(.daily)
        period = c.lenient(.period)
    }
}

/// `goatcounter.User`. Only `email` and `settings` are writable.
public struct User: Codable, Sendable {
    public var id: Int?
    public var site: Int?
    public var email: String?
    public var emailVerified: Bool?
    public var totpEnabled: Bool?
    public var access: JSONValue?
    public var loginAt: Date?
    public var resetAt: Date?
    public var settings: UserSettings?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(email: String? = nil, settings: UserSettings? = nil) {
        self.email = email
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey {
        case id, site, email, emailVerified = "email_verified", totpEnabled = "totp_enabled", access
        case loginAt = "login_at", resetAt = "reset_at", settings, createdAt = "created_at", updatedAt = "updated_at"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = c.lenient(.id)
        site = c.lenient(.site)
        email = c.lenient(.email)
        emailVerified = c.lenient(.emailVerified)
        totpEnabled = c.lenient(.totpEnabled)
        access = c.lenient(.access)
        loginAt = c.time(.loginAt)
        resetAt = c.time(.resetAt)
        settings = c.lenient(.settings)
        createdAt = c.time(.createdAt)
        updatedAt = c.time(.updatedAt)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(email, forKey: .email)
        try c.encodeIfPresent(settings, forKey: .settings)
    }
}

/// The reply of `GET /api/v0/me` (`handlers.meResponse`).
public struct MeResponse: Codable, Sendable {
    public var user: User?
    public var token: APIToken
}

// MARK: - Sites

/// `goatcounter.SiteSettings`: every field is optional so that a PATCH sends only what is set.
public struct SiteSettings: Codable, Sendable, Equatable {
    public var `public`: Bool?
    public var allowCounter: Bool?
    public var allowBosmang: Bool?
    public var dataRetention: Int?
    public var campaigns: [String]?
    public var ignoreIPs: [String]?
    public var collect: Int?
    public var collectRegions: [String]?

    public init(ignoreIPs: [String]? = nil) { self.ignoreIPs = ignoreIPs }

    enum CodingKeys: String, CodingKey {
        case `public`, allowCounter = "allow_counter", allowBosmang = "allow_bosmang", dataRetention = "data_retention"
        case campaigns, ignoreIPs = "ignore_ips", collect, collectRegions = "collect_regions"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        `public` = c.lenient(.public)
        allowCounter = c.lenient(.allowCounter)
        allowBosmang = c.lenient(.allowBosmang)
        dataRetention = c.lenient(.dataRetention)
        campaigns = c.lenient(.campaigns)
        // Real servers write the list as one comma-separated string ("" for none).
        ignoreIPs = c.lenient(.ignoreIPs) ?? (c.lenient(.ignoreIPs) as String?).map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        collect = c.lenient(.collect)
        collectRegions = c.lenient(.collectRegions)
    }
}

/// `goatcounter.Site`. Writable: `cname`, `code`, `link_domain`, `settings`, `user_defaults`;
/// the rest is read-only and never sent.
public struct Site: Codable, Sendable {
    public var id: Int?
    public var parent: Int?
    /// Custom domain, e.g. "stats.example.com"; when self-hosting, the site's vhost.
    public var cname: String?
    public var cnameSetupAt: Date?
    /// Domain code on goatcounter.com ("arp242" for arp242.goatcounter.com).
    public var code: String?
    /// Site domain for linking (www.arp242.net).
    public var linkDomain: String?
    public var plan: String?
    public var planPending: String?
    public var stripe: String?
    public var planCancelAt: Date?
    public var billingAmount: String?
    public var extraPageviews: Int?
    public var billingAnchor: Date?
    public var settings: SiteSettings?
    public var userDefaults: UserSettings?
    /// Whether the site has received any data; true after the first pageview.
    public var receivedData: Bool?
    public var state: String?
    public var createdAt: Date?
    public var updatedAt: Date?
    public var firstHitAt: Date?

    public init(cname: String? = nil, code: String? = nil, linkDomain: String? = nil, settings: SiteSettings? = nil) {
        self.cname = cname
        self.code = code
        self.linkDomain = linkDomain
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey {
        case id, parent, cname, cnameSetupAt = "cname_setup_at", code, linkDomain = "link_domain", plan
        case planPending = "plan_pending", stripe, planCancelAt = "plan_cancel_at", billingAmount = "billing_amount"
        case extraPageviews = "extra_pageviews", billingAnchor = "billing_anchor", settings, userDefaults = "user_defaults"
        case receivedData = "received_data", state, createdAt = "created_at", updatedAt = "updated_at", firstHitAt = "first_hit_at"
        /// What real 2.4.1 and 2.7.0 servers write for `settings` (their JSON tag is misspelt).
        case servedSettings = "setttings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = c.lenient(.id)
        parent = c.lenient(.parent)
        cname = c.lenient(.cname)
        cnameSetupAt = c.time(.cnameSetupAt)
        code = c.lenient(.code)
        linkDomain = c.lenient(.linkDomain)
        plan = c.lenient(.plan)
        planPending = c.lenient(.planPending)
        stripe = c.lenient(.stripe)
        planCancelAt = c.time(.planCancelAt)
        billingAmount = c.lenient(.billingAmount)
        extraPageviews = c.lenient(.extraPageviews)
        billingAnchor = c.time(.billingAnchor)
        settings = c.lenient(.settings) ?? c.lenient(.servedSettings)
        userDefaults = c.lenient(.userDefaults)
        receivedData = c.lenient(.receivedData)
        state = c.lenient(.state)
        createdAt = c.time(.createdAt)
        updatedAt = c.time(.updatedAt)
        firstHitAt = c.time(.firstHitAt)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(cname, forKey: .cname)
        try c.encodeIfPresent(code, forKey: .code)
        try c.encodeIfPresent(linkDomain, forKey: .linkDomain)
        try c.encodeIfPresent(settings, forKey: .settings)
        try c.encodeIfPresent(userDefaults, forKey: .userDefaults)
    }

    /// The name to show: the cname, else the goatcounter.com code.
    public var domain: String { cname ?? code.map { "\($0).goatcounter.com" } ?? "site \(id ?? 0)" }
}

/// `handlers.apiSiteUpdateRequest`: the body of `POST` (replace) and `PATCH` (merge)
/// `/api/v0/sites/{id}`.
public struct SiteUpdateRequest: Codable, Sendable {
    public var settings: SiteSettings?
    public var cname: String?
    public var linkDomain: String?

    public init(settings: SiteSettings? = nil, cname: String? = nil, linkDomain: String? = nil) {
        self.settings = settings
        self.cname = cname
        self.linkDomain = linkDomain
    }

    enum CodingKeys: String, CodingKey { case settings, cname, linkDomain = "link_domain" }
}

/// `handlers.apiSitesResponse`.
public struct SitesResponse: Codable, Sendable {
    public var sites: [Site]
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sites = c.lenient(.sites) ?? []
    }
    enum CodingKeys: String, CodingKey { case sites }
}

// MARK: - Export

/// `goatcounter.Export`. Only `start_from_hit_id` is writable.
public struct Export: Codable, Sendable {
    public var id: Int?
    public var siteID: Int?
    /// The hit ID this export was started from.
    public var startFromHitID: Int?
    /// Last hit ID that was exported; can be used as `start_from_hit_id`.
    public var lastHitID: Int?
    public var createdAt: Date?
    public var finishedAt: Date?
    public var numRows: Int?
    /// File size in MB.
    public var size: String?
    /// SHA256 hash.
    public var hash: String?
    /// Any errors that may have occurred.
    public var error: String?

    public init(startFromHitID: Int) { self.startFromHitID = startFromHitID }

    enum CodingKeys: String, CodingKey {
        case id, siteID = "site_id", startFromHitID = "start_from_hit_id", lastHitID = "last_hit_id"
        case createdAt = "created_at", finishedAt = "finished_at", numRows = "num_rows", size, hash, error
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = c.lenient(.id)
        siteID = c.lenient(.siteID)
        startFromHitID = c.lenient(.startFromHitID)
        lastHitID = c.lenient(.lastHitID)
        createdAt = c.time(.createdAt)
        finishedAt = c.time(.finishedAt)
        numRows = c.lenient(.numRows)
        size = c.lenient(.size)
        hash = c.lenient(.hash)
        error = c.lenient(.error)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(startFromHitID, forKey: .startFromHitID)
    }

    public var isFinished: Bool { finishedAt != nil }
}

/// `handlers.apiExportRequest`.
public struct ExportRequest: Codable, Sendable {
    /// Pagination cursor; only export hits with an ID greater than this.
    public var startFromHitID: Int
    public init(startFromHitID: Int = 0) { self.startFromHitID = startFromHitID }
    enum CodingKeys: String, CodingKey { case startFromHitID = "start_from_hit_id" }
}

// MARK: - Count

/// `handlers.APICountRequest`. The uploader writes these bytes itself (see `HitEncoder` and
/// `Batch`); this typed form is for everything else.
public struct APICountRequest: Codable, Sendable {
    public var noSessions: Bool?
    /// nil: the server's default, `["ip"]`; `[]` filters nothing.
    public var filter: [String]?
    public var hits: [APICountRequestHit]

    public init(hits: [APICountRequestHit], noSessions: Bool? = nil, filter: [String]? = nil) {
        self.hits = hits
        self.noSessions = noSessions
        self.filter = filter
    }

    enum CodingKeys: String, CodingKey { case noSessions = "no_sessions", filter, hits }
}

/// `handlers.APICountRequestHit`. Only the keys that are set are sent: servers since v2.7 refuse
/// a batch with any key they do not know.
public struct APICountRequestHit: Codable, Sendable, Equatable {
    public var path: String
    public var title: String?
    public var event: Bool?
    public var ref: String?
    public var size: [Double]?
    public var query: String?
    public var bot: Int?
    public var userAgent: String?
    public var location: String?
    public var ip: String?
    public var createdAt: Date?
    public var session: String?

    public init(path: String, title: String? = nil, event: Bool? = nil, ref: String? = nil, size: [Double]? = nil,
                query: String? = nil, bot: Int? = nil, userAgent: String? = nil, location: String? = nil,
                ip: String? = nil, createdAt: Date? = nil, session: String? = nil) {
        self.path = path; self.title = title; self.event = event; self.ref = ref; self.size = size
        self.query = query; self.bot = bot; self.userAgent = userAgent; self.location = location
        self.ip = ip; self.createdAt = createdAt; self.session = session
    }

    enum CodingKeys: String, CodingKey {
        case path, title, event, ref, size, query, bot, userAgent = "user_agent", location, ip
        case createdAt = "created_at", session
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        title = c.lenient(.title); event = c.lenient(.event); ref = c.lenient(.ref); size = c.lenient(.size)
        query = c.lenient(.query); bot = c.lenient(.bot); userAgent = c.lenient(.userAgent)
        location = c.lenient(.location); ip = c.lenient(.ip); createdAt = c.time(.createdAt); session = c.lenient(.session)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encodeIfPresent(title, forKey: .title)
        try c.encodeIfPresent(event, forKey: .event)
        try c.encodeIfPresent(ref, forKey: .ref)
        try c.encodeIfPresent(size, forKey: .size)
        try c.encodeIfPresent(query, forKey: .query)
        try c.encodeIfPresent(bot, forKey: .bot)
        try c.encodeIfPresent(userAgent, forKey: .userAgent)
        try c.encodeIfPresent(location, forKey: .location)
        try c.encodeIfPresent(ip, forKey: .ip)
        try c.encodeIfPresent(createdAt.map(APITime.format), forKey: .createdAt)
        try c.encodeIfPresent(session, forKey: .session)
    }
}

/// What a count request returned when it was accepted (202, or 400 with per-hit errors).
public struct CountResult: Sendable {
    /// Per-hit errors by index: those hits were refused, every other one was recorded.
    public var rejected: [Int: String]
    /// Indexes the server filtered (`X-Goatcounter-Filter`: the site's ignored IPs).
    public var filtered: [Int]
}
