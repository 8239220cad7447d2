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

    static let sourceKeyVariable = "GOATCOUNTER_SOURCE_API_KEY"

    func run() throws {
        try runCleanly { try migrate() }
    }

    private func migrate() throws {
        let statePath = state ?? CheckpointStore.defaultPath()
        let source: GoatCounterClient
        do {
            source = GoatCounterClient(site: try GoatCounterClient.parseSite(from),
                                       apiKey: try APIKey.load(file: fromKeyFile, environment: Self.sourceKeyVariable),
                                       transport: AsyncHTTPTransport(timeout: 60))
        } catch let error as ValidationError { throw CleanExit.message("source: \(error.message)") } catch {
            throw CleanExit.message("--from: \(error)")
        }
        let file = try exportFile(source, stateDirectory: (statePath as NSString).deletingLastPathComponent)

        var importArguments = [file, "--site", to, "--format", "goatcounter-csv", "--state", statePath]
        if let toKeyFile { importArguments += ["--api-key-file", toKeyFile] }
        printError("goatimport: importing \(file) into \(to)")
        var importer = try Import.parse(importArguments)
        try importer.run()
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
        let stop = StopSignal()
        let signals = SignalHandlers { _ in stop.stop() }
        defer { signals.cancel() }
        let api = GoatCounterAPI(client: client, stop: stop)
        api.onWait = { seconds, reason in printError(String(format: "goatimport: waiting %.0f s (%@)", seconds, reason)) }
        let data: Data
        let id: Int
        do {
            if let exportId {
                id = exportId
            } else {
                guard let started = try api.startExport().id else { throw CleanExit.message("\(client.site.absoluteString): the export reply has no id") }
                id = started
                printError("goatimport: export \(id) of \(client.site.absoluteString) started (reuse it with --export-id \(id))")
            }
            data = try api.waitForExport(id: id, timeout: exportTimeout)
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
        if csv.isEmpty { throw CleanExit.message("export \(id) of \(client.site.absoluteString): \(Verify.emptyExport); nothing to move") }

        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = path(id)
        let temporary = target + ".part"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
              rename(temporary, target) == 0 else {
            throw CleanExit.message("\(target): cannot write the export (\(String(cString: strerror(errno))))")
        }
        printError("goatimport: export \(id): \(data.count) bytes kept in \(target)")
        return target
    }
}
