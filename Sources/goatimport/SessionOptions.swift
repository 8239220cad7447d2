import ArgumentParser
import Foundation
import GoatImportCore

/// `--sessions`: visits derived from the log's own timestamps.
struct SessionOptions: ParsableArguments {
    /// What --sessions accepts: validation and the shell completions read this one list.
    static let values = ["on", "off"]

    @Option(name: .long, help: ArgumentHelp("on: group hits into visits by IP and user agent in log time (a new visit after --session-gap of quiet); off: leave it to the server, which uses its own clock.", valueName: "on|off"),
            completion: .list(SessionOptions.values))
    var sessions: String = "on"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Hours of quiet (in log time) that end a visit (0.01 to 8784).", valueName: "hours"))
    var sessionGap: Double = 8

    func validate() throws {
        if !Self.values.contains(sessions) { throw ValidationError("--sessions must be on or off") }
        try NumberRange.sessionGap.check(sessionGap)
    }

    /// The tracker, with its secret and open visits from the state directory. Without one, a
    /// dry run uses the fixed `SessionTracker.dryRunSecret`, so that its output is the same for
    /// the same input whether or not this machine has a secret yet (it shows nothing the printed
    /// IP and user agent do not); a `--no-state` upload draws a secret for this run only.
    func makeTracker(stateDir: String?, dryRun: Bool = false) throws -> SessionTracker? {
        guard sessions == "on" else { return nil }
        let gap = Int(sessionGap * 3600)
        guard let stateDir else {
            if dryRun { return SessionTracker(secret: SessionTracker.dryRunSecret, gap: gap) }
            var g = SystemRandomNumberGenerator()
            return SessionTracker(secret: (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }, gap: gap)
        }
        do {
            let tracker = SessionTracker(secret: try SessionTracker.secret(at: stateDir + "/" + SessionTracker.secretFileName), gap: gap)
            try tracker.load(from: stateDir + "/" + SessionTracker.visitsFileName)
            return tracker
        } catch {
            // Not a usage error: the command line was fine, a file was not.
            throw CleanExit.message("\(error)")
        }
    }
}
