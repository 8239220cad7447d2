import Foundation

/// The typed v0 API on top of `GoatCounterClient`: every endpoint of the API document, each
/// paced by the limiter that guards it on the server.
///
/// GoatCounter has three limiters per client IP: `api-count` for `POST /api/v0/count` (60 per
/// 120 s), `export` for starting an export (one per hour) and `api` for everything else (4 per
/// second). Each has its own `RateLimitPacer`, fed by the replies of its own endpoints. A 429
/// is waited out (`Retry-After`, else `X-Rate-Limit-Reset`) and the request sent again, unless
/// the wait is longer than `Options.maxRateLimitWait`: then `RateLimited` is thrown at once,
/// without sleeping (the export limiter can ask for an hour). Idempotent requests (GET, PATCH,
/// the replacing POST) are retried with backoff on network errors and 5xx; creating requests
/// (PUT a site, POST an export, POST a count) are not, since a lost reply may hide a success.
///
/// The uploader sends its batches through the same loop (`exchange(_:_:body:policy:observe:)`),
/// so `/api/v0/me` at start and the counts after it share pacers and one log of send times
/// (GoatCounter 2.4 counts every API request of an address together). All waits go through
/// `stop`, so a signal ends them.
public final class GoatCounterAPI {
    public struct Options {
        /// The longest rate-limit wait the client sits out itself; longer ones throw `RateLimited`.
        public var maxRateLimitWait: Double = 120
        /// How long an idempotent request may keep failing (network, 5xx) before giving up.
        public var retryFor: Double = 30
        public var backoff = Backoff(base: 0.5, cap: 10)
        /// Polling a running export: starts short, doubles (with jitter) up to `cap`.
        public var exportPoll = Backoff(base: 0.25, cap: 10)
        public init() {}
    }

    public enum Limiter: String, Sendable { case api, export, count = "api-count" }

    /// A 429 (or headers that say the window is spent) with a wait longer than the caller allows.
    public struct RateLimited: Error, CustomStringConvertible {
        public let limiter: Limiter
        public let url: String
        public let seconds: Double
        public let message: String
        public var description: String {
            "\(url): rate limited (\(limiter.rawValue) limit); try again in \(Self.duration(seconds))"
        }
        /// `59 min`, `45 s`, `2 h 5 min`.
        public static func duration(_ seconds: Double) -> String {
            let s = Int(seconds.rounded(.up))
            if s < 120 { return "\(s) s" }
            if s < 7200 { return "\((s + 59) / 60) min" }
            return "\(s / 3600) h \((s % 3600 + 59) / 60) min"
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case stopped
        case gaveUp(String, seconds: Double)
        case timedOut(String)
        public var description: String {
            switch self {
            case .stopped: return "stopped"
            case .gaveUp(let last, let seconds): return String(format: "gave up after %.0f s of failures: %@", seconds, last)
            case .timedOut(let what): return what
            }
        }
    }

    /// How one request is resent and how long its waits may be.
    public struct Policy {
        /// Resend after a network error, a timeout or a 5xx (the count uploader does: its
        /// checkpoints only move on an acknowledgement).
        public var resend: Bool
        /// How long one request may keep failing or being refused by the rate limiter before
        /// giving up; nil: never (follow mode). Advertised waits are cut to what is left of it.
        public var retryFor: Double?
        public var backoff: Backoff
        /// A rate-limit wait longer than this throws `RateLimited` at once instead (the export
        /// limiter can ask for an hour); nil: waits are capped instead.
        public var maxRateLimitWait: Double?
        public init(resend: Bool, retryFor: Double?, backoff: Backoff, maxRateLimitWait: Double?) {
            self.resend = resend
            self.retryFor = retryFor
            self.backoff = backoff
            self.maxRateLimitWait = maxRateLimitWait
        }
    }

    /// A pause of the loop, for a display that counts down: `until` is on `RateLimitPacer.monotonic()`.
    public struct Wait: Sendable {
        public let seconds: Double
        public let until: Double
        public let reason: String
        /// A rate-limit wait (else a pause before resending a failed request).
        public let rateLimit: Bool
    }

    /// What one exchange did, for the caller's counters and display.
    public enum Event {
        case sending(bytes: Int)
        case rateLimited
        case retrying
        case waiting(Wait)
        /// How long a wait really lasted (a stop ends it early; an advertised wait may be cut).
        case waited(Wait, seconds: Double)
    }

    /// The longest single wait when nothing else bounds it: after it the server is asked again.
    public static let longestWait = 300.0

    public let client: GoatCounterClient
    public var options: Options
    public let stop: StopSignal
    public let apiPacer: RateLimitPacer
    public let exportPacer: RateLimitPacer
    public let countPacer: RateLimitPacer
    /// Whether the server has answered anything yet.
    private var reached = false
    /// Told about every wait longer than a moment: seconds and why.
    public var onWait: ((Double, String) -> Void)?
    /// The deadline of the next request: starts at the transport's `--timeout` and doubles after
    /// each request that got no reply in time, for the rest of the run. A slow server (GoatCounter
    /// 2.4 takes seconds to answer the request that makes it persist its queue) must not get the
    /// same batch again every `--timeout`: each resend is a duplicate.
    public private(set) var timeout: Double
    private let lock = NSLock()

    public init(client: GoatCounterClient, options: Options = Options(), stop: StopSignal = StopSignal(),
                clock: @escaping () -> Double = RateLimitPacer.monotonic) {
        self.client = client
        self.options = options
        self.stop = stop
        let log = SendLog()
        apiPacer = RateLimitPacer(log: log, clock: clock)
        exportPacer = RateLimitPacer(log: log, clock: clock)
        countPacer = RateLimitPacer(log: log, clock: clock)
        timeout = client.timeout
    }

    public static func limiter(method: String, path: String) -> Limiter {
        let bare = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        if bare == "/api/v0/count" { return .count }
        if bare == "/api/v0/export" && method == "POST" { return .export }
        return .api
    }

    public func pacer(for limiter: Limiter) -> RateLimitPacer {
        switch limiter {
        case .api: return apiPacer
        case .export: return exportPacer
        case .count: return countPacer
        }
    }

    private func wait(_ seconds: Double, _ reason: String, rateLimit: Bool, _ observe: (Event) -> Void) throws {
        let start = RateLimitPacer.monotonic()
        let wait = Wait(seconds: seconds, until: start + seconds, reason: reason, rateLimit: rateLimit)
        if seconds >= 0.5 { onWait?(seconds, reason) }
        observe(.waiting(wait))
        let finished = stop.wait(seconds: seconds)
        observe(.waited(wait, seconds: RateLimitPacer.monotonic() - start))
        if !finished { throw Failure.stopped }
    }

    /// One request through its limiter's pacer, with the options' policy. A server that has not
    /// answered yet is a wrong --site or a dead server: its failure is said at once, as `whoami`
    /// does, instead of after `retryFor`; one that answered before gets the resends.
    public func exchange(_ method: String, _ path: String, body: Data? = nil, idempotent: Bool) throws -> HTTPResponse {
        try exchange(method, path, body: body, policy: Policy(resend: idempotent && reached, retryFor: options.retryFor,
                                                              backoff: options.backoff, maxRateLimitWait: options.maxRateLimitWait))
    }

    /// The one request loop of goatimport: waits before a request when the pacer says the window
    /// is spent, waits out a 429 and asks again, resends transient failures when the policy
    /// says so, and lengthens the timeout after a request that got no reply in time. Every wait
    /// is bounded (by `retryFor`, else `longestWait`) and ends on a stop. Returns any other reply
    /// as is, redirects included (never followed).
    public func exchange(_ method: String, _ path: String, body: Data? = nil, policy: Policy,
                         observe: (Event) -> Void = { _ in }) throws -> HTTPResponse {
        let limiter = Self.limiter(method: method, path: path)
        let pacer = pacer(for: limiter)
        let url = client.url(path).absoluteString
        var backoff = policy.backoff
        var failingSince: Double?
        /// What is left of `retryFor` for waiting, from the first failure or refusal on.
        func budget(_ now: Double) -> Double {
            guard let limit = policy.retryFor else { return Self.longestWait }
            return min(Self.longestWait, limit - (now - (failingSince ?? now)))
        }
        while true {
            let delay = pacer.delayBeforeNextRequest()
            if delay > 0 {
                if let max = policy.maxRateLimitWait, delay > max {
                    throw RateLimited(limiter: limiter, url: url, seconds: delay, message: "the last reply spent the window")
                }
                let now = RateLimitPacer.monotonic()
                if delay > budget(now) {
                    // An advertised wait past the budget: wait what the budget allows, then ask
                    // the server (its 429 is the truth), and count the time as failing.
                    failingSince = failingSince ?? now
                    pacer.forgetWindow()
                }
                try wait(max(0, min(delay, budget(now))), "\(limiter.rawValue) rate limit", rateLimit: true, observe)
            }
            if stop.isStopped { throw Failure.stopped }
            let failure: String
            let requestTimeout = currentTimeout
            do {
                observe(.sending(bytes: body?.count ?? 0))
                let response = try client.send(method, path, body: body, timeout: requestTimeout)
                reached = true
                if response.status == 429 {
                    observe(.rateLimited)
                    let advertised = pacer.delayAfter429(response)
                    if let max = policy.maxRateLimitWait, advertised > max {
                        let error = APIError(response, url: url)
                        throw RateLimited(limiter: limiter, url: url, seconds: advertised, message: error.message)
                    }
                    let now = RateLimitPacer.monotonic()
                    failingSince = failingSince ?? now
                    let left = budget(now)
                    if left <= 0 {
                        throw Failure.gaveUp(String(format: "%@: still rate limited (the server asks for %@ more)", url,
                                                    RateLimited.duration(advertised)), seconds: now - failingSince!)
                    }
                    try wait(min(advertised, left), "429 from the server (\(limiter.rawValue) limit)", rateLimit: true, observe)
                    continue
                }
                pacer.didSend()
                pacer.observe(response)
                guard policy.resend, (500...599).contains(response.status) else { return response }
                failure = APIError(response, url: url).description
            } catch let error as TransportError {
                pacer.didSend()   // the server may have logged it
                if error.timedOut { lengthenTimeout(after: requestTimeout) }
                guard policy.resend else { throw error }
                failure = error.timedOut ? String(format: "%@ (%.0f s)", error.description, requestTimeout) : error.description
            }
            let now = RateLimitPacer.monotonic()
            let since = failingSince ?? now
            failingSince = since
            if let limit = policy.retryFor, now - since >= limit { throw Failure.gaveUp(failure, seconds: now - since) }
            observe(.retrying)
            try wait(min(backoff.next(), max(0.05, budget(now))), "retry after \(failure)", rateLimit: false, observe)
        }
    }

    private var currentTimeout: Double { lock.lock(); defer { lock.unlock() }; return timeout }

    private func lengthenTimeout(after used: Double) {
        lock.lock(); defer { lock.unlock() }
        timeout = max(timeout, min(used * 2, max(used, 600)))
    }

    private func json<T: Decodable>(_ type: T.Type, _ method: String, _ path: String, body: Data? = nil,
                                    idempotent: Bool, policy: Policy? = nil) throws -> T {
        let response = try policy.map { try exchange(method, path, body: body, policy: $0) }
            ?? exchange(method, path, body: body, idempotent: idempotent)
        guard (200..<300).contains(response.status) else { throw apiError(response, path) }
        return try client.decode(T.self, response, path)
    }

    /// The reply's error. Validation errors of sites and exports are keyed by field
    /// (`{"errors":{"cname":["already exists"]}}`), which `APIError` keeps only for hit indexes:
    /// they become its message (`cname: already exists`).
    func apiError(_ response: HTTPResponse, _ path: String) -> APIError {
        let url = client.url(path).absoluteString
        var body = response.body
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], object["error"] == nil,
           let errors = object["errors"] as? [String: Any], errors.keys.contains(where: { Int($0) == nil }) {
            let message = errors.keys.sorted().map { key -> String in
                let value = errors[key]!
                let text = (value as? [Any])?.map { "\($0)" }.joined(separator: ", ") ?? "\(value)"
                return "\(key): \(text)"
            }.joined(separator: "; ")
            body = (try? JSONSerialization.data(withJSONObject: ["error": message])) ?? body
        }
        return APIError(status: response.status, body: body, url: url, location: response.header("Location"))
    }

    private func encode<T: Encodable>(_ value: T) throws -> Data { try JSONEncoder().encode(value) }

    // MARK: user

    /// `GET /api/v0/me`: the user and the key (no permission needed).
    /// `policy`: nil for the options' (a check at start fails at once on a network error, yet
    /// waits out the rate limit).
    public func me(policy: Policy? = nil) throws -> MeResponse {
        try json(MeResponse.self, "GET", "/api/v0/me", idempotent: true, policy: policy)
    }

    // MARK: sites

    /// `GET /api/v0/sites` (site-read): this site and its child sites.
    public func sites() throws -> [Site] { try json(SitesResponse.self, "GET", "/api/v0/sites", idempotent: true).sites }

    /// `GET /api/v0/sites/{id}` (site-read).
    public func site(id: Int) throws -> Site { try json(Site.self, "GET", "/api/v0/sites/\(id)", idempotent: true) }

    /// `PUT /api/v0/sites` (site-create): only the writable fields of `site` are sent.
    public func createSite(_ site: Site) throws -> Site {
        try json(Site.self, "PUT", "/api/v0/sites", body: try encode(site), idempotent: false)
    }

    /// `POST /api/v0/sites/{id}` (site-update): **replaces** the site; what is not sent is blanked.
    public func replaceSite(id: Int, with update: SiteUpdateRequest) throws -> Site {
        try json(Site.self, "POST", "/api/v0/sites/\(id)", body: try encode(update), idempotent: true)
    }

    /// `PATCH /api/v0/sites/{id}` (site-update): changes only what is set in `update`.
    public func updateSite(id: Int, with update: SiteUpdateRequest) throws -> Site {
        try json(Site.self, "PATCH", "/api/v0/sites/\(id)", body: try encode(update), idempotent: true)
    }

    // MARK: statistics

    /// `GET /api/v0/stats/hits` (the key's "read statistics" permission): pageviews per path
    /// and day from `start` to `end` (`yyyy-mm-dd`), every page, through the one request loop.
    public func hitStats(start: String, end: String) throws -> [PathStats] {
        var all: [PathStats] = []
        while true {
            var query = "start=\(start)&end=\(end)&daily=true&limit=100"
            if !all.isEmpty { query += "&exclude_paths=" + all.map { String($0.pathID) }.joined(separator: ",") }
            let page = try json(HitStatsPage.self, "GET", "/api/v0/stats/hits?" + query, idempotent: true)
            all += page.hits
            // A page that adds nothing would ask the same question again.
            if !page.more || page.hits.isEmpty { return all }
        }
    }

    /// The breakdowns `statsEntries` reads.
    public enum Breakdown: Sendable {
        /// `GET /api/v0/stats/hits/{path_id}`: one path's referrers.
        case referrers(pathID: Int)
        /// `GET /api/v0/stats/{page}?include_paths={path_id}`: `locations`, `sizes`, `browsers`…
        /// of one path.
        case page(String, pathID: Int)
    }

    /// A breakdown from `start` to `end` (`yyyy-mm-dd`, both days included), every page (by
    /// `offset`), through the one request loop.
    public func statsEntries(_ breakdown: Breakdown, start: String, end: String) throws -> [StatsEntry] {
        var all: [StatsEntry] = []
        while true {
            let path: String
            switch breakdown {
            case .referrers(let id): path = "/api/v0/stats/hits/\(id)?"
            case .page(let page, let id): path = "/api/v0/stats/\(page)?include_paths=\(id)&"
            }
            let page = try json(StatsEntriesPage.self, "GET", path + "start=\(start)&end=\(end)&limit=100&offset=\(all.count)",
                                idempotent: true)
            all += page.entries
            if !page.more || page.entries.isEmpty { return all }
        }
    }

    // MARK: export

    /// `POST /api/v0/export` (export): starts an export of the hits with an id above
    /// `startFromHitID`. GoatCounter allows one per hour; a second throws `RateLimited`.
    public func startExport(startFromHitID: Int = 0) throws -> Export {
        try json(Export.self, "POST", "/api/v0/export", body: try encode(ExportRequest(startFromHitID: startFromHitID)),
                 idempotent: false)
    }

    /// `GET /api/v0/export/{id}` (export).
    public func export(id: Int) throws -> Export { try json(Export.self, "GET", "/api/v0/export/\(id)", idempotent: true) }

    public enum Download: Sendable {
        case running
        /// The gzipped CSV as the server sent it.
        case ready(Data)
    }

    /// `GET /api/v0/export/{id}/download` (export): 202 while the export runs; 400 once the file
    /// is gone (they are kept 24 hours), thrown as `APIError`.
    public func downloadExport(id: Int) throws -> Download {
        let path = "/api/v0/export/\(id)/download"
        let response = try exchange("GET", path, idempotent: true)
        switch response.status {
        case 202: return .running
        case 200: return .ready(response.body)
        default: throw apiError(response, path)
        }
    }

    /// Polls the download until the export is done: waits between polls start at
    /// `options.exportPoll.base` and double up to its cap; every poll also goes through the api
    /// pacer. Returns the gzipped CSV.
    public func waitForExport(id: Int, timeout: Double = 600, onPoll: ((Int) -> Void)? = nil) throws -> Data {
        let start = RateLimitPacer.monotonic()
        var poll = options.exportPoll
        var polls = 0
        while true {
            polls += 1
            onPoll?(polls)
            if case .ready(let data) = try downloadExport(id: id) { return data }
            let elapsed = RateLimitPacer.monotonic() - start
            if elapsed >= timeout {
                throw Failure.timedOut(String(format: "export %d still running after %.0f s (%d polls); try again later with --export-id %d", id, elapsed, polls, id))
            }
            let pause = min(poll.next(), timeout - elapsed)
            if !stop.wait(seconds: pause) { throw Failure.stopped }
        }
    }

    // MARK: count

    /// `POST /api/v0/count` (count) from typed hits. Throws `APIError` when the whole batch is
    /// refused; per-hit errors come back in the result (every other hit was recorded).
    /// Not retried on network errors: the batch may have been recorded.
    public func count(_ request: APICountRequest) throws -> CountResult {
        let path = "/api/v0/count"
        let response = try exchange("POST", path, body: try encode(request), idempotent: false)
        let filtered = (response.header("X-Goatcounter-Filter") ?? "").split(separator: ",")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        switch response.status {
        case 200, 202:
            // 200 carries an error in one known case (an unknown `filter` value): nothing was recorded.
            if (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["error"] != nil {
                throw APIError(status: response.status, body: response.body, url: client.countURL)
            }
            return CountResult(rejected: [:], filtered: filtered)
        case 400:
            let error = APIError(status: 400, body: response.body, url: client.countURL)
            guard !error.hitErrors.isEmpty, error.message.isEmpty else { throw error }
            return CountResult(rejected: error.hitErrors, filtered: filtered)
        default:
            throw APIError(status: response.status, body: response.body, url: client.countURL)
        }
    }

    /// Whether the key may count on this site, found without recording anything: a count with
    /// no hits is checked for the key, its permission and its site before the server sees that
    /// the batch is empty (400 "no hits"). It uses one token of the count limiter.
    public func probeCount() throws -> (allowed: Bool, reason: String?) {
        let path = "/api/v0/count"
        let response = try exchange("POST", path, body: Data("{\"hits\":[]}".utf8), idempotent: true)
        switch response.status {
        case 400, 200, 202: return (true, nil)
        case 401, 403: return (false, APIError(status: response.status, body: response.body, url: client.countURL).message)
        default: throw APIError(status: response.status, body: response.body, url: client.countURL)
        }
    }
}
