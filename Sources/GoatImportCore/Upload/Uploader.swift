import Foundation

/// Sends batches to `POST /api/v0/count`, in order, one at a time, at the pace the server allows,
/// and never forgets one: a batch is retried until it is acknowledged (202, or 400 with per-hit
/// errors, which acknowledges every hit not listed) or the run stops with an error.
///
/// One batch is in flight at a time: GoatCounter's limit is per request, so parallel requests
/// would not go faster, and in-order acknowledgements keep checkpoints simple.
public final class Uploader {
    public struct Options {
        /// How long one batch may keep failing (network, 5xx) before a one-shot run gives up;
        /// nil retries forever (follow mode).
        public var retryFor: Double? = 600
        public var backoff = Backoff()
        public init() {}
    }

    public enum Event {
        case acknowledged(Batch, UploadSummary)
        /// The loop pauses `seconds`, until `until` on `RateLimitPacer.monotonic()`.
        case waiting(seconds: Double, until: Double, reason: String)
        case hitRejected(input: Int, line: Int, message: String)
        /// Something the user should know once (batches cut for a proxy's size limit).
        case notice(String)
    }

    public enum UploadError: Error, CustomStringConvertible {
        /// The server refused the whole batch for a reason a retry cannot fix.
        case refused(APIError)
        /// Transient failures went on for longer than `retryFor`.
        case gaveUp(lastError: String, seconds: Double)

        public var description: String {
            switch self {
            case .refused(let error):
                switch error.status {
                case 401: return "\(error.url): the API key was refused (\(error.message))"
                case 403: return "\(error.url): \(error.message)"
                case 413: return "\(error.url): \(error.message): refused as too large even with one hit per request"
                case 400, 415: return "\(error.url): the server refused a whole batch (\(error.status) \(error.message)); this is a bug in goatimport or a server it does not know"
                default: return "\(error.url): \(error.status) \(error.message)"
                }
            case .gaveUp(let lastError, let seconds):
                return String(format: "gave up after %.0f s of failures: %@", seconds, lastError)
            }
        }
    }

    public let api: GoatCounterAPI
    public var client: GoatCounterClient { api.client }
    public let options: Options
    public var pacer: RateLimitPacer { api.countPacer }
    public private(set) var summary = UploadSummary()
    private let stop: StopSignal
    private let onEvent: (Event) -> Void
    /// The most hits a request may carry, once a 413 has shown the server's (or its proxy's) size limit.
    private var hitsThatFit: Int?
    /// Called on this thread after each acknowledged batch, in order: where checkpoints move.
    /// An error stops the run (a checkpoint that cannot be saved must not be ignored).
    public var onAcknowledged: ((Batch) throws -> Void)?

    /// `api` carries the client, its pacers and what it learnt before (the `/me` check at start).
    public init(api: GoatCounterAPI, options: Options = Options(), stop: StopSignal, onEvent: @escaping (Event) -> Void = { _ in }) {
        self.api = api
        self.options = options
        self.stop = stop
        self.onEvent = onEvent
    }

    public convenience init(client: GoatCounterClient, options: Options = Options(), stop: StopSignal, onEvent: @escaping (Event) -> Void = { _ in }) {
        self.init(api: GoatCounterAPI(client: client, stop: stop), options: options, stop: stop, onEvent: onEvent)
    }

    /// Takes batches until the queue ends. Returns normally at the end or on stop (the batch
    /// in flight is finished first); throws when the server refuses or failures last too long.
    public func run(_ queue: BatchQueue) throws {
        defer { queue.cancel() }
        while let batch = queue.take() {
            if stop.isStopped { return }
            guard try deliver(batch) else { return }
        }
    }

    /// Sends a batch, in parts when the server has shown it takes fewer hits at a time, and
    /// moves the acknowledgements on. Returns false when a stop came first.
    private func deliver(_ batch: Batch) throws -> Bool {
        if let fit = hitsThatFit, batch.hitCount > fit {
            let (first, second) = batch.split(after: (batch.hitCount + 1) / 2)
            return try deliver(first) && deliver(second)
        }
        if batch.hitCount > 0 {
            switch try send(batch) {
            case .stopped: return false   // not sent, or not acknowledged
            case .tooLarge:
                let fit = (batch.hitCount + 1) / 2
                if hitsThatFit == nil {
                    onEvent(.notice("\(client.countURL): the server refused \(batch.body.count) bytes as too large (413); sending at most \(fit) hits a request"))
                }
                hitsThatFit = min(hitsThatFit ?? fit, fit)
                return try deliver(batch)
            case .acknowledged: break
            }
        }
        if let last = batch.lastPosition { summary.lastAcknowledged = (last.input, last.line) }
        try onAcknowledged?(batch)
        onEvent(.acknowledged(batch, summary))
        return true
    }

    enum Outcome { case acknowledged, stopped, tooLarge }

    /// Sends one batch until acknowledged, through the API's one request loop.
    func send(_ batch: Batch) throws -> Outcome {
        let body = Data(bytes: batch.body.base, count: batch.body.count)
        let policy = GoatCounterAPI.Policy(resend: true, retryFor: options.retryFor, backoff: options.backoff, maxRateLimitWait: nil)
        let response: HTTPResponse
        do {
            response = try api.exchange("POST", "/api/v0/count", body: body, policy: policy) { event in
                switch event {
                case .sending(let bytes): summary.requests += 1; summary.bytesSent += bytes
                case .rateLimited: summary.rateLimited += 1
                case .retrying: summary.retries += 1
                case .waiting(let wait): onEvent(.waiting(seconds: wait.seconds, until: wait.until, reason: wait.reason))
                case .waited(let wait, let seconds): if wait.rateLimit { summary.waitedForRateLimit += seconds }
                }
            }
        } catch GoatCounterAPI.Failure.stopped {
            return .stopped
        } catch GoatCounterAPI.Failure.gaveUp(let last, let seconds) {
            throw UploadError.gaveUp(lastError: last, seconds: seconds)
        }
        switch response.status {
        case 202, 200:
            accept(batch, response, rejected: [:])
            return .acknowledged
        case 400:
            let error = APIError(response, url: client.countURL)
            guard !error.hitErrors.isEmpty, error.message.isEmpty else { throw UploadError.refused(error) }
            accept(batch, response, rejected: error.hitErrors)
            return .acknowledged
        case 413 where batch.hitCount > 1:
            return .tooLarge
        default:
            throw UploadError.refused(APIError(response, url: client.countURL))
        }
    }

    private func accept(_ batch: Batch, _ response: HTTPResponse, rejected: [Int: String]) {
        summary.sent += batch.hitCount - rejected.count
        summary.rejected += rejected.count
        for (index, message) in rejected.sorted(by: { $0.key < $1.key }) {
            summary.rejectedReasons[message, default: 0] += 1
            if index >= 0 && index < batch.positions.count {
                let p = batch.positions[index]
                onEvent(.hitRejected(input: p.input, line: p.line, message: message))
            }
        }
        if let filtered = response.header("X-Goatcounter-Filter") {
            summary.filteredByServer += filtered.split(separator: ",").filter { Int($0.trimmingCharacters(in: .whitespaces)) != nil }.count
        }
    }
}
