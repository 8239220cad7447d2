import ArgumentParser
import Foundation
import GoatImportCore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare what GoatCounter recorded with what the logs say it should have, per path and day (UTC).",
        discussion: """
        Starts an export (GoatCounter allows one per hour; --export-id reuses one), reads the logs
        with the same format and filters as an import, and compares the two per path and day
        between the first and last hit of the logs (within --since/--until). Exit status 0 when
        everything matches, 1 otherwise.

        Paths are compared in the form the server stores: tracking parameters (utm_*, fbclid,
        gclid, msclkid, ref, mc_cid, mc_eid, _ga, _gl) dropped, query keys sorted, and a trailing
        slash ignored. Not checkable: hits GoatCounter itself classes as bots (exports leave them
        out, and its detector is not the log filter's); hits from the site's ignored IPs are left
        out of the expectation only when the key may read sites; favicon and localhost-referrer
        hits are left out as the server drops them. Events and pageviews from the JavaScript
        counter show as extra.

        An empty export (GoatCounter 2.6 and later without the site setting "Individual
        pageviews") is compared through the statistics instead: visits per path and day (a path
        once per visit, grouped with --sessions/--session-gap as the import did), in the key's
        user's time zone; that needs the key's "Read statistics" permission.
        """)

    @Argument(help: ArgumentHelp("Log files (plain or gzip), or - for standard input.", valueName: "file"))
    var files: [String] = []

    @OptionGroup(title: "Log format") var parsing: ParsingOptions
    @OptionGroup(title: "Filters") var filters: FilterOptions
    @OptionGroup(title: "GoatCounter") var connection: ConnectionOptions
    @OptionGroup(title: "Visits (compared when the site keeps only statistics)") var sessionOptions: SessionOptions

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Export only hits with an id above this (the last_hit_id of an earlier export).", valueName: "id"))
    var startFromHitId = 0

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Use this earlier export instead of starting one (GoatCounter allows one export per hour).", valueName: "id"))
    var exportId: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Give up when the export is not ready after this many seconds.", valueName: "seconds"))
    var exportTimeout: Double = 600

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("List at most this many differing path/day rows.", valueName: "n"))
    var show = 50

    mutating func validate() throws {
        if files.isEmpty { throw ValidationError("no input: give the log files that were imported, or - for standard input") }
        if filters.since == nil { throw ValidationError("--since is required: the first day (or time) to compare, e.g. --since 2026-11-01") }
        if connection.site == nil { throw ValidationError("--site is required: the GoatCounter site's URL") }
        if startFromHitId < 0 { throw ValidationError("--start-from-hit-id must be 0 or more") }
        try NumberRange.exportId.check(exportId)
        try NumberRange.exportTimeout.check(exportTimeout)
        try NumberRange.show.check(show)
    }

    func run() throws {
        try runCleanly { try verify() }
    }

    private func verify() throws {
        let inputs = InputOrder.sorted(files)
        do { try Importer.checkReadable(inputs) } catch { throw CleanExit.message("\(error)") }
        var options = try parsing.importerOptions(filters: filters, inputs: inputs)
        // The import's visits (the statistics count them): same grouping, whatever the secret.
        options.sessions = try sessionOptions.makeTracker(stateDir: nil, dryRun: true)

        let client = try connection.makeClient()
        let stop = StopSignal()
        let signals = SignalHandlers { _ in stop.stop() }
        defer { signals.cancel() }
        let api = GoatCounterAPI(client: client, stop: stop)
        api.onWait = { seconds, reason in printError(String(format: "goatimport: waiting %.0f s (%@)", seconds, reason)) }
        func call<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let error as GoatCounterAPI.RateLimited where error.limiter == .export {
                throw CleanExit.message(Self.exportRefused(error))
            } catch GoatCounterAPI.Failure.stopped {
                throw CleanExit.message("interrupted")
            } catch let error as APIError where error.status == 401 || error.status == 403 {
                throw CleanExit.message("\(client.site.absoluteString): the API key may not export (\(error.message)); verify needs a key with the \"Export\" permission on this site")
            } catch {
                throw CleanExit.message(describeAPIFailure(error, client))
            }
        }

        // 1. The export first: GoatCounter 2.4.x counts every API request from this address
        // against its one export an hour, so asking /me first would use it up. It runs on the
        // server while the logs are read.
        let export: Export
        if let exportId {
            export = try call { try api.export(id: exportId) }
            printError("goatimport: using export \(exportId) (hits after id \(export.startFromHitID ?? 0))")
        } else {
            export = try call { try api.startExport(startFromHitID: startFromHitId) }
            printError("goatimport: export \(export.id.map(String.init) ?? "?") started (hits after id \(startFromHitId))")
        }
        guard let id = export.id else { throw CleanExit.message("\(client.site.absoluteString): the export reply has no id") }
        let me = try ConnectionOptions.preflight(api, needing: nil)

        // 2. The site's ignored IPs, when the key may read sites: the server filters those hits.
        var ignoredIPs: Set<String> = []
        var notes: [String] = []
        var site: Site?
        if me.token.permissionSet.contains(.siteRead), let siteID = export.siteID {
            site = try call { try api.site(id: siteID) }
            ignoredIPs = Set(site?.settings?.ignoreIPs ?? [])
        } else {
            notes.append("the key cannot read sites, so hits from the site's ignored IPs (which GoatCounter filters) count as missing")
        }
        // The statistics' days are the key's user's.
        let zoneSetting: String? = if case .string(let name) = me.user?.settings?.timezone { name } else { nil }
        let zone = StatsVerification.timeZone(setting: zoneSetting)
        let zoneName = zone == nil ? "UTC" : StatsVerification.zoneName(zoneSetting!)
        let dayOffset = zone.map { StatsVerification.offset(of: $0) } ?? 0

        // 3. The logs, through the same pipeline as an import.
        let sink = ExpectedHitsSink(ignoredIPs: ignoredIPs, dayOffset: dayOffset)
        let summary = try Importer(options: options).run(inputs: inputs, into: sink)
        printError("goatimport: logs: \(counted(summary.lines, "line")), \(counted(summary.hits, "hit")), \(counted(summary.totalSkipped, "line")) skipped")

        // 4. The export's rows.
        let gzipped = try call { try api.waitForExport(id: id, timeout: exportTimeout) }
        let rows: [ExportRow]?
        do { rows = try ExportCSV.parse(gzipped: gzipped) } catch ExportCSVError.noHeader {
            rows = nil
        } catch { throw CleanExit.message("export \(id): \(error)") }
        let finished = try? api.export(id: id)

        // 5. The interval the logs cover, within --since/--until.
        let filter = try filters.resolve()
        var from = APITime.format(Date(timeIntervalSince1970: Double(filter.since!)))
        var to = filter.until.map { APITime.format(Date(timeIntervalSince1970: Double($0 - 1))) } ?? APITime.format(Date())
        if let first = sink.first, first > from { from = first }
        if let last = sink.last, last < to { to = last }

        let result: Verification
        if let rows {
            result = Verification(expected: sink.counts, rows: rows, from: from, to: to)
            report(result, header: ["export \(id): \(rows.count) rows\(finished?.lastHitID.map { ", last hit id \($0)" } ?? "")",
                                    "compared \(result.from) to \(result.to) (UTC): the logs' first and last hits within --since/--until"],
                   unit: "hit", sink: sink, notes: notes,
                   notChecked: "hits GoatCounter itself classes as bots are not in exports; paths are compared as the server cleans them (utm_* and other tracking parameters dropped, query keys sorted, trailing slash and letter case ignored)",
                   ok: "OK: GoatCounter has every hit of the logs, once")
        } else {
            // 6. No individual pageviews: the visits per path and day of the statistics.
            guard me.token.permissionSet.contains(.stats) else { throw CleanExit.message(Self.noStatsPermission(id, client)) }
            guard let firstDay = StatsVerification.day(from, offset: dayOffset), let lastDay = StatsVerification.day(to, offset: dayOffset),
                  let range = StatsVerification.query(firstDay: firstDay, lastDay: lastDay) else {
                throw CleanExit.message("cannot read the compared interval \(from) to \(to)")
            }
            let stats: [PathStats]
            do { stats = try api.hitStats(start: range.start, end: range.end) } catch let error as APIError where error.status == 401 || error.status == 403 {
                throw CleanExit.message(Self.noStatsPermission(id, client))
            } catch { throw CleanExit.message(describeAPIFailure(error, client)) }
            result = Verification(expectedVisits: sink.visits, stats: stats, firstDay: firstDay, lastDay: lastDay, from: from, to: to)
            let nothing = stats.allSatisfy { $0.days.allSatisfy { $0.daily == 0 } }
            report(result, header: ["export \(id) is empty: \(Self.whyEmpty(site))",
                                    "compared visits per path and day through the statistics API, \(firstDay) to \(lastDay) (days in \(zoneName), the key's user's time zone\(dayOffset == 0 ? "" : ": UTC" + StatsVerification.describe(offset: dayOffset) + ", its offset now in whole hours, which the server applies to every day")): the days of the logs' first and last hits within --since/--until",
                                    "this is a per-day visit comparison (a path counts once per visit, on the day of its first view): for the exact comparison of every pageview, turn on the site setting \"Individual pageviews\" (Settings → Data collection); it applies to what is recorded from then on"]
                   + (nothing ? ["GoatCounter has no data for this site on these days: no individual pageviews (the export is empty) and no visits in the statistics"] : []),
                   unit: "visit", sink: sink, notes: notes,
                   notChecked: "visits GoatCounter itself classes as bots are not in the statistics; whole days are compared, so visits on those days outside --since/--until show as extra; paths are compared as the server cleans them (utm_* and other tracking parameters dropped, query keys sorted, trailing slash and letter case ignored)",
                   ok: "OK: GoatCounter has every visit of the logs, once per path and day")
        }
        if !result.matches || !summary.inputErrors.isEmpty { throw ExitCode(1) }
    }

    /// Why an export can be empty, and what to do.
    static let emptyExport = "the export is empty, without even a header line: the site does not keep individual pageviews (GoatCounter 2.6 and later keep them only with the site setting \"Individual pageviews\" on, under Settings → Data collection; it is off by default). Turn it on for the exact, export-based comparison of what is recorded from then on"

    /// The reason for an empty export, from the site's `collect` setting when the key may read it.
    static func whyEmpty(_ site: Site?) -> String {
        guard let collect = site?.settings?.collect else {
            return "the site keeps no individual pageviews (the setting \"Individual pageviews\", off by default since GoatCounter 2.6), or has none after the export's first hit id"
        }
        return collect & 256 == 0
            ? "the site does not keep individual pageviews (its setting \"Individual pageviews\" is off, the default since GoatCounter 2.6)"
            : "the site keeps individual pageviews (the setting \"Individual pageviews\" is on) but has none after the export's first hit id, perhaps none since the setting was turned on"
    }

    /// A key that may export but not read statistics, on a site without individual pageviews.
    static func noStatsPermission(_ id: Int, _ client: GoatCounterClient) -> String {
        "export \(id) is empty: the site keeps no individual pageviews (GoatCounter 2.6 and later: the site setting \"Individual pageviews\", off by default). Verifying through the statistics instead needs the key's \"Read statistics\" permission, which this key lacks on \(client.site.absoluteString): add it to the key (the menu under your user name → API), or turn \"Individual pageviews\" on (Settings → Data collection) for the exact, export-based comparison of what is recorded from then on"
    }

    /// A refused export, with the reason that applies to both server generations.
    static func exportRefused(_ error: GoatCounterAPI.RateLimited) -> String {
        "\(error.url): the server refused to start an export (one an hour; try again in \(GoatCounterAPI.RateLimited.duration(error.seconds))). GoatCounter 2.4.x counts every API request from this address, imports included, against that allowance: run verify an hour after the last import, or reuse an export with --export-id ID (verify and migrate print its id)"
    }

    /// The comparison's table and summary; `unit` is what is counted ("hit" or "visit").
    private func report(_ result: Verification, header: [String], unit: String, sink: ExpectedHitsSink, notes: [String],
                        notChecked: String, ok: String) {
        for line in header { print(line) }
        let differences = result.differences
        if !differences.isEmpty {
            print("")
            var table = [["DAY", "PATH", "LOG", "GOATCOUNTER", "DIFF", ""]]
            for row in differences.prefix(show) {
                table.append([row.key.day, row.key.path, String(row.expected), String(row.recorded),
                              (row.difference > 0 ? "+" : "") + String(row.difference), row.difference < 0 ? "missing" : "extra"])
            }
            printTable(table, rightAligned: [2, 3, 4])
            if differences.count > show { print("… and \(differences.count - show) more (--show N)") }
        }
        print("")
        let cells = result.rows.count
        let days = Set(result.rows.map(\.key.day)).count
        print("\(counted(cells, "path/day pair")) on \(counted(days, "day")): \(grouped(cells - differences.count)) match; \(counted(result.expectedTotal, unit)) expected, \(grouped(result.recordedTotal)) recorded; \(grouped(result.missing)) missing, \(grouped(result.extra)) extra")
        for (exclusion, n) in sink.excluded.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            print("not expected on the server: \(counted(n, "hit")) (\(exclusion.rawValue))")
        }
        for (reason, n) in result.notCompared.sorted(by: { $0.key < $1.key }) {
            print("\(unit == "hit" ? "export rows" : "statistics") not compared: \(n) (\(reason))")
        }
        for note in notes { print("note: \(note)") }
        print("not checked: \(notChecked)")
        print(result.matches ? ok : "MISMATCH")
    }
}
