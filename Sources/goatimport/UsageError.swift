import ArgumentParser
import Foundation

/// A command line that cannot run: the reason, the command's usage line and where its options
/// are described; exit status 64 (EX_USAGE), as the argument parser uses.
enum UsageError {
    static func exit(_ message: String, command: ParsableCommand.Type) -> Never {
        printError("Error: \(message)")
        printError("Usage: \(GoatImport.usageString(for: command))")
        printError("  See 'goatimport help \(path(to: command).joined(separator: " "))' for its options.")
        Foundation.exit(ExitCode.validationFailure.rawValue)
    }

    static func name(_ command: ParsableCommand.Type) -> String { command._commandName }

    /// The (sub)command a command line runs: the arguments naming one (after `help` too), else
    /// each level's default (`import`, `sites list`).
    static func command(in arguments: [String]) -> ParsableCommand.Type {
        var command: ParsableCommand.Type = GoatImport.self
        var rest = arguments.first == "help" ? arguments.dropFirst() : arguments[...]
        while !command.configuration.subcommands.isEmpty {
            if let named = command.configuration.subcommands.first(where: { name($0) == rest.first }) {
                command = named
                rest = rest.dropFirst()
            } else if let fallback = command.configuration.defaultSubcommand {
                command = fallback
            } else {
                break
            }
        }
        return command
    }

    /// `sites list` for Sites.List.
    static func path(to command: ParsableCommand.Type) -> [String] {
        func find(_ from: ParsableCommand.Type, _ trail: [String]) -> [String]? {
            if from == command { return trail }
            for sub in from.configuration.subcommands {
                if let found = find(sub, trail + [name(sub)]) { return found }
            }
            return nil
        }
        return find(GoatImport.self, []) ?? [name(command)]
    }
}
