import ArgumentParser
import Foundation
import GoatImportCore

extension Import {
    /// The journal instead of files: one source, whose checkpoint is the cursor of the last
    /// acknowledged entry (in the state file, by selection, and by site with a site map); with
    /// --follow it waits on the journal for new entries until SIGTERM.
    func runJournal() throws {
        let selection = journalOptions.selection
        var options = try parsing.importerOptions(filters: filters, inputs: [], journal: journalOptions)
        options.siteMap = try siteMapOptions.makeMap()
        let siteMap = options.siteMap
        if verbose {
            options.onMalformed = { file, line, reason, text in printError("goatimport: \(file) entry \(line): \(reason): \(text)") }
        }
        let reader: JournalReader
        do { reader = try JournalReader(selection) } catch { throw CleanExit.message("\(error)") }
        let stateDir = ((state ?? CheckpointStore.defaultPath()) as NSString).deletingLastPathComponent
        if dryRun {
            try reader.seek(after: nil)
            options.sessions = try sessionOptions.makeTracker(stateDir: nil, dryRun: true)
            let summary = try makeImporter(options).run(journal: reader, cursors: [CursorTable()], into: NDJSONSink())
            printError(summary.render().split(separator: "\n").map { "goatimport: " + $0 }.joined(separator: "\n"))
            if !summary.inputErrors.isEmpty { throw ExitCode(1) }
            return
        }
        let stop = StopSignal()
        let siteURLs = siteMap?.sites ?? [connection.site!]
        let apis = try siteURLs.indices.map {
            GoatCounterAPI(client: try connection.makeClient(site: siteURLs[$0], keyFile: siteMap?.keyFiles[$0]), stop: stop)
        }
        try preflight(apis)
        // Each site acknowledges on its own: its own cursor, and its own table of cursors read.
        let keys = siteMap.map { $0.sites.map { selection.key + " site=" + $0 } } ?? [selection.key]
        let cursors = keys.map { _ in CursorTable() }
        var store: CheckpointStore?
        if !noState {
            do {
                let s = try CheckpointStore(path: state ?? CheckpointStore.defaultPath())
                try s.lock()
                store = s
            } catch let error as CheckpointError {
                throw CleanExit.message("\(error)")
            }
        }
        let resume = keys.map { store?.journalCursor(for: $0) }
        do { try reader.seek(after: keys.count == 1 ? resume[0] : JournalReader.oldest(resume)) } catch { throw CleanExit.message("\(error)") }
        options.sessions = try sessionOptions.makeTracker(stateDir: noState ? nil : stateDir)
        let importer = try makeImporter(options)
        let lanes = UploadLanes(apis: apis, routed: siteMap != nil, batchSize: batchSize,
                                noSessions: try noSessions(options), options: uploadOptions(retryFor: follow ? nil : retryFor), stop: stop,
                                onEvent: { _, _ in },
                                onAcknowledged: { lane, batch in
                                    guard let store, let last = batch.lastPosition, let cursor = cursors[lane].take(last.line) else { return }
                                    store.updateJournal(cursor: cursor, for: keys[lane])
                                    try store.save()
                                })
        let signals = SignalHandlers { signal in
            printError("goatimport: \(signal == SIGINT ? "interrupted" : "terminated"): finishing the request in flight")
            stop.stop()
            lanes.cancelAll()
        }
        defer { signals.cancel() }
        let outcome = UploadPipeline.run(lanes: lanes.lanes, threadName: "goatimport-journal", uploaderDone: { stop.stop() }) {
            try importer.run(journal: reader, cursors: cursors, resume: keys.count > 1 ? resume : [], into: lanes.sink,
                             follow: follow ? stop : nil)
        }
        if let tracker = options.sessions, !noState {
            do { try tracker.save(to: stateDir + "/sessions.json") } catch { printError("goatimport: warning: could not save open visits: \(error)") }
        }
        try finish(outcome, lanes, stop: stop, inputName: { _ in "journal" })
    }
}
