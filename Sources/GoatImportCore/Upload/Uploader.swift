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

    /// The `.waiting` reasons of the rate limit (the display learns the server's pace from them).
    public static let rateLimitReason = "rate limit", tooManyRequestsReason = "429 from the server"

    public enum Event {
        case acknowledged(Batch, UploadSummary)
        case waiting(seconds: Double, reason: String)
        case hitRejected(input: Int, line: Int, message: String)
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
                case 400, 415: return "\(error.url): the server refused a whole batch (\(error.status) \(error.message)); this is a bug in goatimport or a server it does not know"
                default: return "\(error.url): \(error.status) \(error.message)"
                }
            case .gaveUp(let lastError, let seconds):
                return String(format: "gave up after %.0f s of failures: %@", seconds, lastError)
            }
        }
    }

    public let client: GoatCounterClient
    public let options: Options
    public let pacer = RateLimitPacer()
    public private(set) var summary = UploadSummary()
    private let stop: StopSignal
    private let onEvent: (Event) -> Void
    /// Called on this thread after each acknowledged batch, in order: where checkpoints move.
    /// An error stops the run (a checkpoint that cannot be saved must not be ignored).
    public var onAcknowledged: ((Batch) throws -> Void)?

    public init(client: GoatCounterClient, options: Options = Options(), stop: StopSignal, onEvent: @escaping (Event) -> Void = { _ in }) {
        self.client = client
        self.options = options
        self.stop = stop
        self.onEvent = onEvent
    }

    /// Takes batches until the queue ends. Returns normally at the end or on stop (the batch
    /// in flight is finished first); throws when the server refuses or failures last too long.
    public func run(_ queue: BatchQueue) throws {
        defer { queue.cancel() }
        while let batch = queue.take() {
            if stop.isStopped { return }
            if batch.hitCount > 0 {
                guard try send(batch) else { return }   // stopped while waiting: not sent, not acknowledged
            }
            if let last = batch.lastPosition { summary.lastAcknowledged = (last.input, last.line) }
            try onAcknowledged?(batch)
            onEvent(.acknowledged(batch, summary))
        }
    }

    /// Sends one batch until acknowledged. Returns false when a stop came while waiting.
    func send(_ batch: Batch) throws -> Bool {
        let body = Data(bytes: batch.body.base, count: batch.body.count)
        var backoff = options.backoff
        var failingSince: Double?
        while true {
            let delay = pacer.delayBeforeNextRequest()
            if delay > 0 {
                onEvent(.waiting(seconds: delay, reason: Self.rateLimitReason))
                summary.waitedForRateLimit += delay
                if !stop.wait(seconds: delay) { return false }
            }
            let failure: String
            do {
                summary.requests += 1
                summary.bytesSent += body.count
                let response = try client.count(body: body)
                switch response.status {
                case 202, 200:
                    pacer.observe(response)
                    accept(batch, response, rejected: [:])
                    return true
                case 429:
                    summary.rateLimited += 1
                    let wait = pacer.delayAfter429(response)
                    onEvent(.waiting(seconds: wait, reason: Self.tooManyRequestsReason))
                    summary.waitedForRateLimit += wait
                    if !stop.wait(seconds: wait) { return false }
                    continue
                case 400:
                    pacer.observe(response)
                    let error = APIError(status: 400, body: response.body, url: client.countURL)
                    guard !error.hitErrors.isEmpty, error.message.isEmpty else { throw UploadError.refused(error) }
                    accept(batch, response, rejected: error.hitErrors)
                    return true
                case 500...599:
                    pacer.observe(response)
                    failure = APIError(status: response.status, body: response.body, url: client.countURL).description
                default:
                    throw UploadError.refused(APIError(status: response.status, body: response.body, url: client.countURL))
                }
            } catch let error as TransportError {
                failure = error.description
            }
            // Transient: the batch may or may not have been recorded (a 504 often was); resend it.
            let now = RateLimitPacer.monotonic()
            let since = failingSince ?? now
            failingSince = since
            if let limit = options.retryFor, now - since >= limit {
                throw UploadError.gaveUp(lastError: failure, seconds: now - since)
            }
            summary.retries += 1
            var wait = backoff.next()
            if let limit = options.retryFor { wait = min(wait, max(0.05, limit - (now - since))) }
            onEvent(.waiting(seconds: wait, reason: "retry after \(failure)"))
            if !stop.wait(seconds: wait) { return false }
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
