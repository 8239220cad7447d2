import ArgumentParser
import Dispatch
import Foundation
import GoatImportCore

/// When something was last logged, shared by the uploader threads.
final class LockedDate: @unchecked Sendable {
    private let lock = NSLock()
    private var date = Date()
    /// True (and reset to now) when the last time is more than `seconds` ago.
    func olderThan(_ seconds: TimeInterval) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard Date().timeIntervalSince(date) >= seconds else { return false }
        date = Date()
        return true
    }
}

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
    @OptionGroup(title: "Many sites from one log") var siteMapOptions: SiteMapOptions
    @OptionGroup(title: "Visits") var sessionOptions: SessionOptions
    @OptionGroup(title: "The systemd journal") var journalOptions: JournalOptions

    @Flag(name: .long, help: "Print each hit as one JSON object per line on stdout instead of sending it.")
    var dryRun = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Parsing threads for --dry-run (default: one per core; the output is the same, in order).", valueName: "n"))
    var threads: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Hits per request (at most 500, the server's limit).", valueName: "n"))
    var batchSize = 500

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Give up after a batch has failed (network errors, 5xx) or been rate limited for this many seconds (0 to 604800).", valueName: "seconds"))
    var retryFor: Double = 600

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("First wait before a retry; it doubles (with jitter) up to a minute (0.001 to 3600).", valueName: "seconds"))
    var retryDelay: Double = 1

    @Option(name: .long, help: ArgumentHelp("Also write the summary as JSON to this file.", valueName: "path"))
    var summaryJson: String?

    @Option(name: .long, help: ArgumentHelp("State file with each log's checkpoint (default: $STATE_DIRECTORY/state.json under systemd, else $XDG_STATE_HOME/goatimport/state.json).", valueName: "path"))
    var state: String?

    @Flag(name: .long, help: "Keep no checkpoints: send everything given, every time.")
    var noState = false

    @Flag(name: .long, help: "Keep following the logs across rotations until SIGTERM: live paths (e.g. /var/log/nginx/access.log; rotated files beside them are read first) or quoted globs ('/var/log/nginx/*.access.log': files that start to match are followed too).")
    var follow = false

    @Option(name: .long, help: ArgumentHelp("With --follow and no checkpoint yet: start at the beginning of the log or at its end.", valueName: "beginning|end"),
            completion: .list(FileFollower.StartPosition.allCases.map(\.rawValue)))
    var from: String = "beginning"

    @Flag(name: .shortAndLong, help: "Show each malformed line with file:line on stderr.")
    var verbose = false

    mutating func validate() throws {
        if files.isEmpty && !journalOptions.isGiven { throw ValidationError("no input: give one or more log files, or - for standard input") }
        try journalOptions.validate(files: files)
        if connection.site != nil && siteMapOptions.isGiven {
            throw ValidationError("--site and --site-map: give one (a site map can end with '*=URL' for every other host)")
        }
        if !dryRun && connection.site == nil && !siteMapOptions.isGiven {
            throw ValidationError("nothing to do: pass --site URL (or --site-map HOST=URL) to send hits to GoatCounter, or --dry-run to print them")
        }
        try NumberRange.threads.check(threads)
        try NumberRange.batchSize.check(batchSize)
        try NumberRange.retryFor.check(retryFor)
        try NumberRange.retryDelay.check(retryDelay)
        if FileFollower.StartPosition(rawValue: from) == nil { throw ValidationError("--from must be beginning or end") }
        if follow {
            if dryRun { throw ValidationError("--follow sends hits; it cannot be combined with --dry-run") }
            if noState { throw ValidationError("--follow needs its state file; drop --no-state") }
            if files.contains("-") { throw ValidationError("--follow reads files, not standard input") }
            if journalOptions.isGiven && from == "end" { throw ValidationError("--from end: not for the journal (a first run starts at its oldest entry)") }
        }
    }

    func run() throws {
        do { try runImport() } catch CleanExit.message(let message) {
            printError("goatimport: \(message)", priority: JournalPriority.err)
            throw ExitCode(1)
        }
    }

    private func runImport() throws {
        if journalOptions.isGiven { return try runJournal() }
        var inputs = InputOrder.sorted(files)
        if !follow {
            let distinct = DistinctInputs.of(inputs)
            for note in distinct.dropped { printError("goatimport: \(note)") }
            inputs = distinct.paths
            if !dryRun && !noState {
                // Nothing tells such a file apart from another yet: it waits for a later run.
                for path in inputs where distinct.tooShort.contains(path) && ProgressReporter.estimatedSize(path) > 0 {
                    printError("goatimport: \(path): no complete request line yet: left for a later run")
                }
                inputs.removeAll { distinct.tooShort.contains($0) }
                for path in inputs where StreamInputs.isStream(path) {
                    printError("goatimport: \(path): a stream: read once, to its end, without a checkpoint (unchecked: a rerun cannot tell what was sent)")
                }
            }
        }
        // (A glob to follow may match nothing yet.)
        do { try Importer.checkReadable(inputs.filter { !follow || !FollowerGroup.isPattern($0) }) } catch {
            throw CleanExit.message("\(error)")
        }
        let sampled = follow ? inputs.flatMap { FollowerGroup.isPattern($0) ? FollowerGroup.expand($0) : [$0] } : inputs
        var options = try parsing.importerOptions(filters: filters, inputs: sampled)
        options.siteMap = try siteMapOptions.makeMap()
        let siteMap = options.siteMap
        if options.format.isGoatCounterCSV {
            if follow { throw CleanExit.message("goatcounter-csv is an export, not a live log: drop --follow") }
            printError("goatimport: goatcounter-csv: every row of the export is sent (it holds what GoatCounter counted); of the filters only --since/--until apply")
        }
        if verbose {
            options.onMalformed = { file, line, reason, text in printError("goatimport: \(file):\(line): \(reason): \(text)") }
        }

        let stateDir = ((state ?? CheckpointStore.defaultPath()) as NSString).deletingLastPathComponent
        if dryRun {
            options.sessions = try sessionOptions.makeTracker(stateDir: nil, dryRun: true)
            // Container logs join parts across lines: one reader, in order.
            let lanes = options.format.readsInOrder || options.container != .none ? 1 : threads ?? ProcessInfo.processInfo.activeProcessorCount
            let summary: ImportSummary
            if lanes > 1 {
                summary = try formatErrorsClean { try LaneImporter(options: options, lanes: lanes).run(inputs: inputs) }
            } else {
                summary = try makeImporter(options).run(inputs: inputs, into: NDJSONSink())
            }
            report(summary, nil)
            try writeSummaryJSON(summary, nil, error: nil)
            if !summary.inputErrors.isEmpty { throw ExitCode(1) }
            return
        }

        // A long run of malformed lines stops an upload before its checkpoint passes them.
        options.stopAfterMalformedInARow = Self.malformedInARowLimit

        // One client per site; each is checked before anything is sent.
        let siteURLs = siteMap?.sites ?? [connection.site!]
        let stop = StopSignal()
        // One API per site: the uploader goes on with the pacing its /me check learnt.
        let apis = try siteURLs.indices.map {
            GoatCounterAPI(client: try connection.makeClient(site: siteURLs[$0], keyFile: siteMap?.keyFiles[$0]), stop: stop)
        }
        try preflight(apis)
        let stateSites = siteMap?.sites ?? []
        if follow { return try runFollow(apis: apis, stop: stop, stateSites: stateSites, options: options) }

        // Checkpoints: resume each file where the server last acknowledged it.
        if !noState {
            let path = state ?? CheckpointStore.defaultPath()
            do {
                let store = try CheckpointStore(path: path)
                try store.lock()
                options.checkpoints = store
                options.onNote = { printError("goatimport: \($0)") }
            } catch let error as CheckpointError {
                throw LockHeld.isLocked(error) ? LockHeld.stepAside(error) : CleanExit.message("\(error)")
            }
        }
        options.sessions = try sessionOptions.makeTracker(stateDir: noState ? nil : stateDir)
        let sessions = noState ? nil : options.sessions
        sessions?.isShared = true
        let importer = try makeImporter(options)

        let progress = ProgressReporter(sizes: inputs.map(ProgressReporter.estimatedSize), lanes: apis.count)
        let lanes = UploadLanes(apis: apis, routed: siteMap != nil, batchSize: batchSize,
                                noSessions: try noSessions(options), options: uploadOptions(retryFor: retryFor), stop: stop,
                                onEvent: { lane, event in progress.handle(event, lane: lane, inputs: inputs) },
                                onAcknowledged: acknowledgement(options.checkpoints, sites: stateSites, sessions: sessions, stateDir: stateDir))
        let signals = SignalHandlers { signal in
            StatusLine.shared.notifier?.stopping()
            printError("goatimport: \(signal == SIGINT ? "interrupted" : "terminated"): finishing the request in flight")
            stop.stop()
            lanes.cancelAll()
        }
        defer { signals.cancel() }

        let outcome = UploadPipeline.run(lanes: lanes.lanes, threadName: "goatimport-parse") {
            try importer.run(inputs: inputs, into: lanes.sink)
        }
        if !noState { saveSessions(options.sessions, stateDir) }
        progress.clearLine()
        try finish(outcome, lanes, stop: stop, inputName: { inputs[$0] })
    }

    /// `--follow`: catch up from the checkpoint (rotated files first), then follow the live log
    /// until SIGTERM; retries never give up, checkpoints move with every acknowledgement.
    private func runFollow(apis: [GoatCounterAPI], stop: StopSignal, stateSites: [String], options: Importer.Options) throws {
        let clients = apis.map(\.client)
        let store: CheckpointStore
        let follower: FollowerGroup
        let status = FollowStatus(lanes: clients.count)
        // On a terminal the status line shows waits and totals; elsewhere they are log lines.
        let logProgress = !StatusLine.shared.isTerminal
        do {
            store = try CheckpointStore(path: state ?? CheckpointStore.defaultPath())
            try store.lock()
            let start = FileFollower.StartPosition(rawValue: from) ?? .beginning
            let maxLineLength = options.maxLineLength
            let container = options.container
            // Each live path with its own rotated files; a file that starts to match a glob
            // later is new, and read from its first line.
            follower = try FollowerGroup(paths: files) { live, isNew in
                var followerOptions = FileFollower.Options()
                followerOptions.from = isNew ? .beginning : start
                followerOptions.maxLineLength = maxLineLength
                followerOptions.container = container
                let backlog = try CatchUp.plan(livePath: live, store: store, from: followerOptions.from)
                if isNew { printError("goatimport: following \(live) (new)") }
                status.startedFollowing()
                return FileFollower(path: live, store: store, options: followerOptions, backlog: backlog)
            }
        } catch let error as CheckpointError {
            throw LockHeld.isLocked(error) ? LockHeld.stepAside(error) : CleanExit.message("\(error)")
        }
        var options = options
        let stateDir = (store.path as NSString).deletingLastPathComponent
        options.sessions = try sessionOptions.makeTracker(stateDir: stateDir)
        let sessions = options.sessions
        sessions?.isShared = true
        options.checkpoints = store
        let importer = try makeImporter(options)
        let names = NameTable()
        importer.onNewInput = { index, path in names.set(index, path) }
        let lastLog = LockedDate()
        let lanes = UploadLanes(
            apis: apis, routed: !stateSites.isEmpty, batchSize: batchSize, noSessions: try noSessions(options),
            options: uploadOptions(retryFor: nil), stop: stop,
            onEvent: { lane, event in
                status.handle(event, lane: lane)
                switch event {
                case .hitRejected(let input, let line, let message):
                    printError("goatimport: \(names.get(input)):\(line): the server rejected the hit: \(message)")
                case .notice(let message):
                    printError("goatimport: \(message)")
                case .waiting(let seconds, _, let reason) where seconds >= 5 && logProgress:
                    printError(String(format: "goatimport: %@: waiting %.0f s (%@)", clients[lane].site.absoluteString, seconds, reason))
                case .acknowledged(_, let summary) where logProgress && lastLog.olderThan(60):
                    printError("goatimport: \(counted(summary.sent, "hit")) sent\(clients.count > 1 ? " to " + clients[lane].site.absoluteString : "")")
                default: break
                }
            },
            onAcknowledged: acknowledgement(store, sites: stateSites, sessions: sessions, stateDir: stateDir))
        let signals = SignalHandlers { signal in
            StatusLine.shared.notifier?.stopping()
            printError("goatimport: \(signal == SIGINT ? "interrupted" : "terminated"): finishing the request in flight")
            stop.stop()
            follower.stop()
            lanes.cancelAll()
        }
        defer { signals.cancel() }
        // Where `--from end` starts (and the rotated files it skips) is saved now: a restart
        // before the first acknowledgement resumes there instead of jumping to the end again.
        do { try store.save() } catch let error as CheckpointError { throw CleanExit.message("\(error)") }
        // Checked, locked and watching: from here on systemd counts the service as started.
        StatusLine.shared.notifier?.ready()
        StatusLine.shared.start(status.content)

        let outcome = UploadPipeline.run(lanes: lanes.lanes, threadName: "goatimport-follow",
                                         uploaderDone: { stop.stop(); follower.stop() }) {
            try importer.follow(follower, into: lanes.sink, stop: stop)
        }
        StatusLine.shared.stop()
        saveSessions(options.sessions, stateDir)
        try finish(outcome, lanes, stop: stop, inputName: names.get)
    }

    /// What an acknowledged batch saves, in every mode: visits first (saved visits may run ahead
    /// of the checkpoint, since lines read again continue the same visits, never behind it),
    /// then the checkpoint of each file the batch covers, for the lane's site.
    func acknowledgement(_ store: CheckpointStore?, sites: [String], sessions: SessionTracker?,
                         stateDir: String) -> (Int, Batch) throws -> Void {
        { lane, batch in
            guard let store, !batch.checkpoints.isEmpty else { return }
            saveSessions(sessions, stateDir)
            try store.acknowledge(batch.checkpoints, site: sites.isEmpty ? nil : sites[lane], of: sites)
        }
    }

    /// Malformed lines in a row that mean the format stopped matching (scattered ones are skipped).
    static let malformedInARowLimit = 100

    /// Each site's key is checked before anything is sent. With several sites, one that refuses
    /// its key stops alone (its uploader meets the same refusal and ends) and the others go on.
    func preflight(_ clients: [GoatCounterAPI]) throws {
        var refused = 0
        for client in clients {
            do {
                _ = try ConnectionOptions.preflight(client, needing: .count, retryFor: follow ? nil : retryFor)
            } catch CleanExit.message(let message) where clients.count > 1 {
                printError("goatimport: error: \(message); nothing is sent to this site, the others go on")
                refused += 1
            }
        }
        if refused == clients.count && clients.count > 1 { throw CleanExit.message("no site accepted its key") }
    }

    func makeImporter(_ options: Importer.Options) throws -> Importer {
        try formatErrorsClean { try Importer(options: options) }
    }

    /// A format the importer cannot use (no host field for a site map…) is one line on stderr.
    private func formatErrorsClean<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FormatError { throw CleanExit.message("\(error)") }
    }

    /// Without a user agent in the log the server cannot group visits; tell it so instead of
    /// having every hit refused.
    func noSessions(_ options: Importer.Options) throws -> Bool {
        try options.sessions == nil && !options.format.fields().contains(.userAgent)
    }

    /// The report, the summary file and the exit status, after an upload run.
    func finish(_ outcome: UploadPipeline.Outcome, _ lanes: UploadLanes, stop: StopSignal,
                        inputName: (Int) -> String) throws {
        let summary = outcome.summary
        report(summary, lanes.total, perSite: lanes.lanes.count > 1 ? lanes.perSite : [])
        let several = lanes.lanes.count > 1
        for (index, lane) in lanes.lanes.enumerated() {
            if let position = lane.uploader.summary.lastAcknowledged, stop.isStopped || outcome.uploadErrors[index] != nil {
                printError("goatimport: \(several ? lanes.sites[index] + ": " : "")acknowledged by the server up to \(inputName(position.input)):\(position.line)")
            }
        }
        try writeSummaryJSON(summary, lanes.total, error: outcome.uploadError ?? outcome.parseError)
        for (index, error) in outcome.uploadErrors.enumerated() {
            if let error { printError("goatimport: error: \(several ? lanes.sites[index] + ": " : "")\(error)") }
        }
        if outcome.uploadError != nil { throw ExitCode(1) }
        if let parseError = outcome.parseError {
            printError("goatimport: error: \(parseError)")
            throw ExitCode(1)
        }
        if stop.isStopped { return }
        if !summary.inputErrors.isEmpty { throw ExitCode(1) }
    }

    /// Open visits go with the state (at every acknowledgement and at the end), so the next
    /// run continues them, also after a crash.
    private func saveSessions(_ tracker: SessionTracker?, _ stateDir: String) {
        guard let tracker else { return }
        do { try tracker.save(to: stateDir + "/" + SessionTracker.visitsFileName) } catch {
            printError("goatimport: warning: could not save open visits: \(error)")
        }
    }

    func uploadOptions(retryFor: Double?) -> Uploader.Options {
        var options = Uploader.Options()
        options.retryFor = retryFor
        options.backoff = Backoff(base: retryDelay, cap: max(60, retryDelay))
        return options
    }

    private func report(_ summary: ImportSummary, _ upload: UploadSummary?, perSite: [(site: String, summary: UploadSummary)] = []) {
        var lines = summary.render().split(separator: "\n").map(String.init)
        if let upload {
            lines.append("\(counted(upload.sent, "hit")) sent in \(counted(upload.requests, "request")) (\(grouped(upload.rateLimited)) rate-limited, \(grouped(upload.retries)) retried)")
            for (site, s) in perSite {
                lines.append("  \(site): \(grouped(s.sent)) sent in \(counted(s.requests, "request")) (\(grouped(s.rateLimited)) rate-limited, \(grouped(s.retries)) retried)")
            }
            if upload.rejected > 0 {
                lines.append("\(counted(upload.rejected, "hit")) rejected by the server:")
                for (reason, n) in upload.rejectedReasons.sorted(by: { $0.value > $1.value }) { lines.append("  \(n)  \(reason)") }
            }
            if upload.filteredByServer > 0 { lines.append("\(counted(upload.filteredByServer, "hit")) filtered by the server (ignored IPs)") }
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
