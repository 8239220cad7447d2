import ArgumentParser
import Foundation
import GoatImportCore

extension Import {
    /// The journal instead of files: one source, whose checkpoint is the cursor of the last
    /// acknowledged entry (in the state file, by selection); with --follow it waits on the
    /// journal for new entries until SIGTERM.
    func runJournal() throws {
        let selection = journalOptions.selection
        var options = try parsing.importerOptions(filters: filters, inputs: [], journal: journalOptions)
        if verbose {
            options.onMalformed = { file, line, reason, text in printError("goatimport: \(file) entry \(line): \(reason): \(text)") }
        }
        let reader: JournalReader
        do { reader = try JournalReader(selection) } catch { throw CleanExit.message("\(error)") }
        let cursors = CursorTable()
        let stateDir = ((state ?? CheckpointStore.defaultPath()) as NSString).deletingLastPathComponent
        if dryRun {
            try reader.seek(after: nil)
            options.sessions = try sessionOptions.makeTracker(stateDir: nil, dryRun: true)
            let summary = try makeImporter(options).run(journal: reader, cursors: cursors, into: NDJSONSink())
            printError(summary.render().split(separator: "\n").map { "goatimport: " + $0 }.joined(separator: "\n"))
            if !summary.inputErrors.isEmpty { throw ExitCode(1) }
            return
        }
        let stop = StopSignal()
        let api = GoatCounterAPI(client: try connection.makeClient(site: connection.site!), stop: stop)
        _ = try ConnectionOptions.preflight(api, needing: .count, retryFor: follow ? nil : retryFor)
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
        do { try reader.seek(after: store?.journalCursor(for: selection.key)) } catch { throw CleanExit.message("\(error)") }
        options.sessions = try sessionOptions.makeTracker(stateDir: noState ? nil : stateDir)
        let importer = try makeImporter(options)
        let lanes = UploadLanes(apis: [api], routed: false, batchSize: batchSize,
                                noSessions: try noSessions(options), options: uploadOptions(retryFor: follow ? nil : retryFor), stop: stop,
                                onEvent: { _, _ in },
                                onAcknowledged: { _, batch in
                                    guard let store, let last = batch.lastPosition, let cursor = cursors.take(last.line) else { return }
                                    store.updateJournal(cursor: cursor, for: selection.key)
                                    try store.save()
                                })
        let signals = SignalHandlers { signal in
            printError("goatimport: \(signal == SIGINT ? "interrupted" : "terminated"): finishing the request in flight")
            stop.stop()
            lanes.cancelAll()
        }
        defer { signals.cancel() }
        let outcome = UploadPipeline.run(lanes: lanes.lanes, threadName: "goatimport-journal", uploaderDone: { stop.stop() }) {
            try importer.run(journal: reader, cursors: cursors, into: lanes.sink, follow: follow ? stop : nil)
        }
        if let tracker = options.sessions, !noState {
            do { try tracker.save(to: stateDir + "/sessions.json") } catch { printError("goatimport: warning: could not save open visits: \(error)") }
        }
        try finish(outcome, lanes, stop: stop, inputName: { _ in "journal" })
    }
}
