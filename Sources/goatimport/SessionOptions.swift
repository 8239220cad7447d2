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

    @Option(name: .long, help: ArgumentHelp("Hours of quiet (in log time) that end a visit.", valueName: "hours"))
    var sessionGap: Double = 8

    func validate() throws {
        if !Self.values.contains(sessions) { throw ValidationError("--sessions must be on or off") }
        if sessionGap <= 0 { throw ValidationError("--session-gap must be positive") }
    }

    /// The tracker, with its secret and open visits from the state directory (`stateDir` nil: a
    /// dry run reads an existing secret but writes nothing; ids then match a later run only if
    /// the secret already existed).
    func makeTracker(stateDir: String?, dryRunDir: String?) throws -> SessionTracker? {
        guard sessions == "on" else { return nil }
        let gap = Int(sessionGap * 3600)
        do {
            if let stateDir {
                let tracker = SessionTracker(secret: try SessionTracker.secret(at: stateDir + "/session-secret"), gap: gap)
                try tracker.load(from: stateDir + "/sessions.json")
                return tracker
            }
            if let dir = dryRunDir, let data = FileManager.default.contents(atPath: dir + "/session-secret"), data.count >= 16 {
                return SessionTracker(secret: Array(data), gap: gap)
            }
            var bytes = [UInt8](repeating: 0, count: 32)
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
            return SessionTracker(secret: bytes, gap: gap)
        } catch {
            throw ValidationError("sessions: \(error)")
        }
    }
}
