import ArgumentParser
import Foundation
import GoatImportCore

/// `goatimport migrate`: a site's history from one GoatCounter to another, in one resumable step.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a site's history to another GoatCounter site: export the source, import the export into the target, verify.",
        discussion: """
        Asks the source for an export (one an hour; --export-id reuses one, and its download is kept
        beside the state file, so a rerun needs no new export), imports it into the target as
        `import --format goatcounter-csv` does (checkpoints: a rerun sends nothing twice, an
        interrupted one goes on), waits for the target to store the hits, and compares the two per
        path and day as `verify` does (exit status 1 on a difference).

        The source's key comes from $GOATCOUNTER_SOURCE_API_KEY or --from-key-file ("Export"
        permission); the target's from $GOATCOUNTER_API_KEY or --to-key-file ("Record pageviews",
        and "Export" for the comparison).

        A source that keeps no individual pageviews (GoatCounter 2.6 and later, by default) exports
        nothing: --from-statistics rebuilds the history from its statistics instead ("Read
        statistics" permission). Kept: visits per path and day, in the hours the statistics give,
        titles and events, and each path's referrers, locations and screen-size classes over the
        whole range. Lost: individual times and visits' sequences (each visit becomes one
        pageview), browsers and systems, exact screen sizes, campaigns and languages. The rebuild
        is kept beside the state file, so a rerun sends nothing twice; no comparison follows.
        """)

    @Option(name: .long, help: ArgumentHelp("The source site's URL.", valueName: "url"))
    var from: String

    @Option(name: .long, help: ArgumentHelp("The target site's URL.", valueName: "url"))
    var to: String

    @Option(name: .long, help: ArgumentHelp("The source's API key file (mode 0600) instead of $GOATCOUNTER_SOURCE_API_KEY.", valueName: "path"))
    var fromKeyFile: String?

    @Option(name: .long, help: ArgumentHelp("The target's API key file (mode 0600) instead of $GOATCOUNTER_API_KEY.", valueName: "path"))
    var toKeyFile: String?

    @Option(name: .long, help: ArgumentHelp("Use this earlier export of the source instead of starting one.", valueName: "id"))
    var exportId: Int?

    @Option(name: .long, help: ArgumentHelp("Give up when the export is not ready after this many seconds.", valueName: "seconds"))
    var exportTimeout: Double = 600

    @Option(name: .long, help: ArgumentHelp("State file for the import's checkpoints (as import's --state); the export is kept beside it.", valueName: "path"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to let the target store what it received before comparing (GoatCounter stores every 10 s).", valueName: "seconds"))
    var settle: Double = 12

    @Flag(name: .long, help: "Import only; do not compare the two sites afterwards.")
    var noVerify = false

    @Option(name: .long, help: ArgumentHelp("Hits per request to the target (as import's --batch-size).", valueName: "n"))
    var batchSize: Int?

    @Flag(name: .long, help: "Rebuild the history from the source's statistics (a source without individual pageviews): visits per path and day; individual times and visits' sequences are lost.")
    var fromStatistics = false

    @Option(name: .long, help: ArgumentHelp("With --from-statistics: the first day to read (yyyy-mm-dd, UTC; default 2019-01-01).", valueName: "day"))
    var since: String?

    static let sourceKeyVariable = "GOATCOUNTER_SOURCE_API_KEY"

    func run() throws {
        try runCleanly { try migrate() }
    }

    private func migrate() throws {
        if since != nil && !fromStatistics { throw CleanExit.message("--since goes with --from-statistics (an export holds the whole history)") }
        let statePath = state ?? CheckpointStore.defaultPath()
        let source: GoatCounterClient
        do {
            source = GoatCounterClient(site: try GoatCounterClient.parseSite(from),
                                       apiKey: try APIKey.load(file: fromKeyFile, environment: Self.sourceKeyVariable),
                                       transport: AsyncHTTPTransport(timeout: 60))
        } catch let error as ValidationError { throw CleanExit.message("source: \(error.message)") } catch {
            throw CleanExit.message("--from: \(error)")
        }
        let stateDirectory = (statePath as NSString).deletingLastPathComponent
        let file = fromStatistics ? try statisticsFile(source, stateDirectory: stateDirectory)
                                  : try exportFile(source, stateDirectory: stateDirectory)

        var importArguments = [file, "--site", to, "--format", "goatcounter-csv", "--state", statePath]
        if let toKeyFile { importArguments += ["--api-key-file", toKeyFile] }
        if let batchSize { importArguments += ["--batch-size", String(batchSize)] }
        printError("goatimport: importing \(file) into \(to)")
        var importer = try Import.parse(importArguments)
        try importer.run()
        if fromStatistics {
            printError("goatimport: no comparison after a rebuild from statistics (verify compares exports): compare the two sites' statistics per path and day")
            return
        }
        if noVerify { return }

        if settle > 0 {
            printError(String(format: "goatimport: waiting %.0f s for %@ to store the hits", settle, to))
            Thread.sleep(forTimeInterval: settle)
        }
        var verifyArguments = ["--site", to, "--since", "1970-01-01", file]
        if let toKeyFile { verifyArguments += ["--api-key-file", toKeyFile] }
        var verify = try Verify.parse(verifyArguments)
        try verify.run()
    }

    /// The source's export as a file: the kept download of `--export-id` when there is one,
    /// else the download of a new export (or of `--export-id`). The export is the first request
    /// to the source: GoatCounter 2.4.x counts every API request against the hour's export.
    private func exportFile(_ client: GoatCounterClient, stateDirectory: String) throws -> String {
        let host = client.site.host ?? "site"
        func path(_ id: Int) -> String { "\(stateDirectory)/migrate-\(host)-export-\(id).csv.gz" }
        if let exportId, FileManager.default.fileExists(atPath: path(exportId)) {
            printError("goatimport: using the kept download of export \(exportId): \(path(exportId))")
            return path(exportId)
        }
        let data: Data
        let id: Int
        do {
            let api = sourceAPI(client)
            defer { api.signals.cancel() }
            if let exportId {
                id = exportId
            } else {
                guard let started = try api.api.startExport().id else { throw CleanExit.message("\(client.site.absoluteString): the export reply has no id") }
                id = started
                printError("goatimport: export \(id) of \(client.site.absoluteString) started (reuse it with --export-id \(id))")
            }
            data = try api.api.waitForExport(id: id, timeout: exportTimeout)
        } catch let error as GoatCounterAPI.RateLimited where error.limiter == .export {
            throw CleanExit.message(Verify.exportRefused(error))
        } catch GoatCounterAPI.Failure.stopped {
            throw CleanExit.message("interrupted")
        } catch let error as CleanExit {
            throw error
        } catch {
            throw CleanExit.message("source: " + describeAPIFailure(error, client))
        }
        let csv: Data
        do { csv = try ExportCSV.gunzip(data) } catch { throw CleanExit.message("export \(id): \(error)") }
        if csv.isEmpty {
            throw CleanExit.message("export \(id) of \(client.site.absoluteString): \(Verify.emptyExport); nothing to move. `migrate --from-statistics` rebuilds the history from the source's statistics instead (visits per path and day; individual times and visits are lost)")
        }
        let target = path(id)
        try keep(at: target, stateDirectory: stateDirectory) { try $0(data) }
        printError("goatimport: export \(id): \(data.count) bytes kept in \(target)")
        return target
    }

    /// The source's API, its waits said on stderr and ended by a signal (cancel `signals` after).
    private func sourceAPI(_ client: GoatCounterClient) -> (api: GoatCounterAPI, signals: SignalHandlers) {
        let stop = StopSignal()
        let signals = SignalHandlers { _ in stop.stop() }
        let api = GoatCounterAPI(client: client, stop: stop)
        api.onWait = { seconds, reason in printError(String(format: "goatimport: waiting %.0f s (%@)", seconds, reason)) }
        return (api, signals)
    }

    /// Writes a download or a rebuild beside the state file in one step (a temporary file
    /// renamed), readable by its owner only: a file there is whole, and a rerun reuses it.
    /// `write` hands its pieces to the function it is given.
    private func keep(at target: String, stateDirectory: String, write: ((Data) throws -> Void) throws -> Void) throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = target + ".part"
        do {
            guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let handle = FileHandle(forWritingAtPath: temporary) else { throw SystemError(errno: errno, context: "create") }
            defer { try? handle.close() }
            try write { try handle.write(contentsOf: $0) }
            try handle.synchronize()
            guard rename(temporary, target) == 0 else { throw SystemError(errno: errno, context: "rename") }
        } catch {
            throw CleanExit.message("\(target): cannot write (\(error))")
        }
    }

    static let statisticsLoss = """
        goatimport: rebuilding the history from the statistics, which keep less than the pageviews did.
        goatimport:   kept: visits per path and day (in the hours the statistics give), titles, events;
        goatimport:         per path over the whole range: referrers, locations, screen-size classes
        goatimport:   lost: individual times and visits' sequences (each visit becomes one pageview at a
        goatimport:         made-up time in its hour), browsers and systems, exact screen sizes, campaigns,
        goatimport:         languages; referrers, locations and sizes per day (dealt over the path's days)
        """

    /// The history rebuilt from the source's statistics (`StatisticsRebuild`), as an export file
    /// kept beside the state file: a rerun imports the same file, whose checkpoints send nothing
    /// twice, instead of rebuilding from statistics that may have moved on.
    private func statisticsFile(_ client: GoatCounterClient, stateDirectory: String) throws -> String {
        let since = self.since ?? "2019-01-01"
        let target = "\(stateDirectory)/migrate-\(client.site.host ?? "site")-statistics-since-\(since).csv"
        printError(Self.statisticsLoss)
        if FileManager.default.fileExists(atPath: target) {
            printError("goatimport: using the rebuild kept from an earlier run: \(target)")
            return target
        }
        guard StatisticsRebuild.midnight(since) != nil, since.count == 10 else { throw CleanExit.message("--since: \"\(since)\" is not yyyy-mm-dd") }
        let now = Int(Date().timeIntervalSince1970)
        let until = StatisticsHistory.day(now / 86400)
        let history: [StatisticsRebuild.PathHistory]
        do {
            let api = sourceAPI(client)
            defer { api.signals.cancel() }
            history = try StatisticsHistory.fetch(api.api, since: since, until: until) { printError("goatimport: statistics \($0)") }
        } catch GoatCounterAPI.Failure.stopped {
            throw CleanExit.message("interrupted")
        } catch let error as APIError where error.status == 403 && !error.message.contains("does not have access") {
            throw CleanExit.message("source: \(error.url): \(error.message): --from-statistics needs a source key with the \"Read statistics\" permission")
        } catch {
            throw CleanExit.message("source: " + describeAPIFailure(error, client))
        }
        let visits = history.reduce(0) { $0 + $1.stats.count }
        if visits == 0 { throw CleanExit.message("\(client.site.absoluteString): the statistics from \(since) to \(until) count no visits; nothing to move") }
        try keep(at: target, stateDirectory: stateDirectory) { try StatisticsRebuild.write(history, now: now - 10, to: $0) }
        printError("goatimport: \(visits) visits on \(history.count) paths from \(since) to \(until), kept in \(target)")
        return target
    }
}
