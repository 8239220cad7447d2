import ArgumentParser
import Dispatch
import Foundation
import GoatImportCore

/// Input names by index, written by the parsing thread and read by the uploader's.
final class NameTable: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [Int: String] = [:]
    func set(_ index: Int, _ name: String) { lock.lock(); names[index] = name; lock.unlock() }
    func get(_ index: Int) -> String { lock.lock(); defer { lock.unlock() }; return names[index] ?? "?" }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read access logs and send each pageview to GoatCounter (or print it with --dry-run).",
        discussion: """
        Files are read oldest first when they form a rotated set (access.log.2.gz access.log.1 access.log),
        gzip is detected by content, and - reads standard input.

        The API key is read from $GOATCOUNTER_API_KEY or --api-key-file; it is never a flag.
        """
    )

    @Argument(help: ArgumentHelp("Log files (plain or gzip), or - for standard input.", valueName: "file"))
    var files: [String] = []

    @OptionGroup(title: "Log format") var parsing: ParsingOptions
    @OptionGroup(title: "Filters") var filters: FilterOptions
    @OptionGroup(title: "GoatCounter") var connection: ConnectionOptions
    @OptionGroup(title: "Visits") var sessionOptions: SessionOptions

    @Flag(name: .long, help: "Print each hit as one JSON object per line on stdout instead of sending it.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Hits per request (at most 500, the server's limit).", valueName: "n"))
    var batchSize = 500

    @Option(name: .long, help: ArgumentHelp("Give up after a batch has failed (network errors, 5xx) for this many seconds.", valueName: "seconds"))
    var retryFor: Double = 600

    @Option(name: .long, help: ArgumentHelp("First wait before a retry; it doubles (with jitter) up to a minute.", valueName: "seconds"))
    var retryDelay: Double = 1

    @Option(name: .long, help: ArgumentHelp("Also write the summary as JSON to this file.", valueName: "path"))
    var summaryJson: String?

    @Option(name: .long, help: ArgumentHelp("State file with each log's checkpoint (default: $STATE_DIRECTORY/state.json under systemd, else $XDG_STATE_HOME/goatimport/state.json).", valueName: "path"))
    var state: String?

    @Flag(name: .long, help: "Keep no checkpoints: send everything given, every time.")
    var noState = false

    @Flag(name: .long, help: "Keep following the log (one live path, e.g. /var/log/nginx/access.log) across rotations, until SIGTERM.")
    var follow = false

    @Option(name: .long, help: ArgumentHelp("With --follow and no checkpoint yet: start at the beginning of the log or at its end.", valueName: "beginning|end"))
    var from: String = "beginning"

    @Flag(name: .shortAndLong, help: "Show each malformed line with file:line on stderr.")
    var verbose = false

    mutating func validate() throws {
        if files.isEmpty { throw ValidationError("no input: give one or more log files, or - for standard input") }
        if !dryRun && connection.site == nil {
            throw ValidationError("nothing to do: pass --site URL to send hits to GoatCounter, or --dry-run to print them")
        }
        if batchSize < 1 || batchSize > 500 { throw ValidationError("--batch-size must be between 1 and 500") }
        if from != "beginning" && from != "end" { throw ValidationError("--from must be beginning or end") }
        if follow {
            if dryRun { throw ValidationError("--follow sends hits; it cannot be combined with --dry-run") }
            if noState { throw ValidationError("--follow needs its state file; drop --no-state") }
            if files.count != 1 || files[0] == "-" {
                throw ValidationError("--follow takes one live log path (its rotated files are found beside it), not \(files.count == 1 ? "standard input" : "\(files.count) files")")
            }
        }
    }

    func run() throws {
        do { try runImport() } catch CleanExit.message(let message) {
            printError("goatimport: \(message)")
            throw ExitCode(1)
        }
    }

    private func runImport() throws {
        let inputs = InputOrder.sorted(files)
        do { try Importer.checkReadable(inputs) } catch { throw CleanExit.message("\(error)") }
        var options = try parsing.importerOptions(filters: filters, inputs: inputs)
        let format = options.format
        if verbose {
            options.onMalformed = { file, line, reason, text in printError("goatimport: \(file):\(line): \(reason): \(text)") }
        }

        let stateDir = ((state ?? CheckpointStore.defaultPath()) as NSString).deletingLastPathComponent
        if dryRun {
            options.sessions = try sessionOptions.makeTracker(stateDir: nil, dryRunDir: stateDir)
            let importer = try Importer(options: options)
            let summary = try importer.run(inputs: inputs, into: NDJSONSink())
            report(summary, nil)
            try writeSummaryJSON(summary, nil, error: nil)
            if !summary.inputErrors.isEmpty { throw ExitCode(1) }
            return
        }

        let client = try connection.makeClient()
        _ = try ConnectionOptions.preflight(client, needing: .count)
        if follow { return try runFollow(client: client, options: options, format: format) }

        // Checkpoints: resume each file where the server last acknowledged it.
        var keeper: CheckpointKeeper?
        if !noState {
            let path = state ?? CheckpointStore.defaultPath()
            do {
                let store = try CheckpointStore(path: path)
                try store.lock()
                let k = try CheckpointKeeper(store: store, inputs: inputs)
                options.startPositions = try k.startPositions()
                options.emitPartialLastLine = false
                for note in k.notes { printError("goatimport: \(note)") }
                keeper = k
            } catch let error as CheckpointError {
                throw CleanExit.message("\(error)")
            }
        }
        options.sessions = try sessionOptions.makeTracker(stateDir: noState ? nil : stateDir, dryRunDir: nil)
        let importer = try Importer(options: options)

        let stop = StopSignal()
        let queue = BatchQueue(capacity: 4)
        // Without a user agent in the log the server cannot group visits; tell it so instead of
        // having every hit refused.
        let noSessions = try options.sessions == nil && !format.fields().contains(.userAgent)
        let sink = BatchingSink(queue: queue, batchSize: batchSize, noSessions: noSessions)
        let progress = ProgressReporter(sizes: inputs.map(ProgressReporter.estimatedSize))
        let uploader = Uploader(client: client, options: uploadOptions(retryFor: retryFor), stop: stop) { event in
            progress.handle(event, inputs: inputs)
        }
        if let keeper {
            uploader.onAcknowledged = { batch in
                if let last = batch.lastPosition { try keeper.acknowledged(last) }
            }
        }

        let signals = SignalHandlers { signal in
            printError("\ngoatimport: \(signal == SIGINT ? "interrupted" : "terminated"): finishing the request in flight")
            stop.stop()
            queue.cancel()
        }
        defer { signals.cancel() }

        let outcome = UploadPipeline.run(uploader: uploader, queue: queue, threadName: "goatimport-parse") {
            try importer.run(inputs: inputs, into: sink)
        }
        let importSummary = outcome.summary, importError = outcome.parseError, uploadError = outcome.uploadError
        if !noState { try saveSessions(options.sessions, stateDir) }
        progress.clearLine()

        report(importSummary, uploader.summary)
        if let position = uploader.summary.lastAcknowledged, stop.isStopped || uploadError != nil {
            printError("goatimport: acknowledged by the server up to \(inputs[position.input]):\(position.line)")
        }
        try writeSummaryJSON(importSummary, uploader.summary, error: uploadError ?? importError)
        if let uploadError {
            printError("goatimport: error: \(uploadError)")
            throw ExitCode(1)
        }
        if let importError { throw importError }
        if stop.isStopped { return }
        if !importSummary.inputErrors.isEmpty { throw ExitCode(1) }
    }

    /// `--follow`: catch up from the checkpoint (rotated files first), then follow the live log
    /// until SIGTERM; retries never give up, checkpoints move with every acknowledgement.
    private func runFollow(client: GoatCounterClient, options: Importer.Options, format: LogFormat) throws {
        let live = files[0]
        let store: CheckpointStore
        let follower: FileFollower
        do {
            store = try CheckpointStore(path: state ?? CheckpointStore.defaultPath())
            try store.lock()
            let start: FileFollower.StartPosition = from == "end" ? .end : .beginning
            var followerOptions = FileFollower.Options()
            followerOptions.from = start
            followerOptions.maxLineLength = options.maxLineLength
            let backlog = try CatchUp.plan(livePath: live, store: store, from: start)
            follower = FileFollower(path: live, store: store, options: followerOptions, backlog: backlog)
        } catch let error as CheckpointError {
            throw CleanExit.message("\(error)")
        }
        var options = options
        let stateDir = (store.path as NSString).deletingLastPathComponent
        options.sessions = try sessionOptions.makeTracker(stateDir: stateDir, dryRunDir: nil)
        let importer = try Importer(options: options)
        let stop = StopSignal()
        let queue = BatchQueue(capacity: 4)
        let sink = BatchingSink(queue: queue, batchSize: batchSize,
                                noSessions: try options.sessions == nil && !format.fields().contains(.userAgent))
        let names = NameTable()
        importer.onNewInput = { index, path in names.set(index, path) }
        var lastLog = Date()
        let uploader = Uploader(client: client, options: uploadOptions(retryFor: nil), stop: stop) { event in
            switch event {
            case .hitRejected(let input, let line, let message):
                printError("goatimport: \(names.get(input)):\(line): the server rejected the hit: \(message)")
            case .waiting(let seconds, let reason) where seconds >= 5:
                printError(String(format: "goatimport: waiting %.0f s (%@)", seconds, reason))
            case .acknowledged(_, let summary) where Date().timeIntervalSince(lastLog) >= 60:
                lastLog = Date()
                printError("goatimport: \(summary.sent) hits sent")
            default: break
            }
        }
        uploader.onAcknowledged = { batch in
            guard let checkpoint = batch.checkpoint else { return }
            store.update(checkpoint)
            try store.save()
        }
        let signals = SignalHandlers { signal in
            printError("goatimport: \(signal == SIGINT ? "interrupted" : "terminated"): finishing the request in flight")
            stop.stop()
            follower.stop()
            queue.cancel()
        }
        defer { signals.cancel() }

        let outcome = UploadPipeline.run(uploader: uploader, queue: queue, threadName: "goatimport-follow",
                                         uploaderDone: { stop.stop(); follower.stop() }) {
            try importer.follow(follower, into: sink, stop: stop)
        }
        let summary = outcome.summary, followError = outcome.parseError, uploadError = outcome.uploadError
        try saveSessions(options.sessions, stateDir)
        report(summary, uploader.summary)
        try writeSummaryJSON(summary, uploader.summary, error: uploadError ?? followError)
        if let error = uploadError ?? followError {
            printError("goatimport: error: \(error)")
            throw ExitCode(1)
        }
    }

    /// Open visits go with the state, so the next run continues them.
    private func saveSessions(_ tracker: SessionTracker?, _ stateDir: String) throws {
        guard let tracker else { return }
        do { try tracker.save(to: stateDir + "/sessions.json") } catch {
            printError("goatimport: warning: could not save open visits: \(error)")
        }
    }

    private func uploadOptions(retryFor: Double?) -> Uploader.Options {
        var options = Uploader.Options()
        options.retryFor = retryFor
        options.backoff = Backoff(base: retryDelay, cap: max(60, retryDelay))
        return options
    }

    private func report(_ summary: ImportSummary, _ upload: UploadSummary?) {
        var lines = summary.render().split(separator: "\n").map(String.init)
        if let upload {
            lines.append("\(upload.sent) hits sent in \(upload.requests) requests (\(upload.rateLimited) rate-limited, \(upload.retries) retried)")
            if upload.rejected > 0 {
                lines.append("\(upload.rejected) hits rejected by the server:")
                for (reason, n) in upload.rejectedReasons.sorted(by: { $0.value > $1.value }) { lines.append("  \(n)  \(reason)") }
            }
            if upload.filteredByServer > 0 { lines.append("\(upload.filteredByServer) hits filtered by the server (ignored IPs)") }
            if upload.waitedForRateLimit >= 1 { lines.append(String(format: "%.0f s spent waiting for the rate limit", upload.waitedForRateLimit)) }
        }
        printError(lines.map { "goatimport: " + $0 }.joined(separator: "\n"))
    }

    private func writeSummaryJSON(_ summary: ImportSummary, _ upload: UploadSummary?, error: Error?) throws {
        guard let path = summaryJson else { return }
        var object = summary.jsonObject
        if let upload { object["upload"] = upload.jsonObject }
        object["ok"] = error == nil && summary.inputErrors.isEmpty
        if let error { object["error"] = "\(error)" }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw CleanExit.message("--summary-json \(path): cannot write it")
        }
    }
}
