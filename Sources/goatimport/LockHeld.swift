import ArgumentParser
import GoatImportCore

/// Another run (the follow service, or a timer run that is still going) holds the state's
/// lock. Nothing was done and nothing is wrong: the run steps aside with its own exit status,
/// 75 (EX_TEMPFAIL, "try again later"), which the timer's unit counts as success
/// (`SuccessExitStatus=75`), so an overlap leaves no failed unit.
enum LockHeld {
    static let exitStatus: Int32 = 75

    static func isLocked(_ error: CheckpointError) -> Bool {
        if case .locked = error { return true }
        return false
    }

    static func stepAside(_ error: CheckpointError) -> ExitCode {
        printError("goatimport: \(error); nothing done", priority: JournalPriority.notice)
        return ExitCode(exitStatus)
    }
}
