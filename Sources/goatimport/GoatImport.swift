import ArgumentParser
import GoatImportCore

@main
struct GoatImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "goatimport",
        abstract: "Import nginx, Apache and Caddy access logs into GoatCounter.",
        version: GoatImportVersion.current,
        subcommands: [Import.self, Formats.self, Check.self, Whoami.self, Sites.self, Verify.self, Migrate.self],
        defaultSubcommand: Import.self
    )

    /// The parser's own `main`, with three things it does not do: spellings brought from
    /// `goatcounter import` are answered before any other check (the parser reports a failed
    /// `validate()` before an unknown option), `help` of an unknown command is an error, and a
    /// usage error points at the help of the command that was run rather than the root's.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let command = UsageError.command(in: arguments)
        if let problem = CommandLineHabits.problem(in: arguments, command: command) {
            UsageError.exit(problem, command: command)
        }
        var parsed: ParsableCommand
        do { parsed = try parseAsRoot(arguments) } catch {
            if exitCode(for: error) == .validationFailure { UsageError.exit(message(for: error), command: command) }
            exit(withError: error)
        }
        do { try parsed.run() } catch let error as ValidationError {
            UsageError.exit(error.message, command: command)
        } catch {
            exit(withError: error)
        }
    }
}
