import ArgumentParser

/// Spellings people bring from `goatcounter import`, whose Go flags take one dash (`-site`,
/// `-format`, `-exclude`, `-follow`) or none of ours (`-debug`, `-silent`, `-date`).
enum CommandLineHabits {
    /// goatcounter import's flags that goatimport has no `--` form of, and what to use instead.
    static let goatcounterOnly: [String: String] = [
        "debug": "-v shows each malformed line; `goatimport check` says why lines do not match",
        "silent": "the progress is drawn only on a terminal; 2>/dev/null drops the summary too",
        "date": "the time comes from the format's time field; --tz for times without an offset",
        "time": "the time comes from the format's time field; --tz for times without an offset",
        "datetime": "the time comes from the format's time field; --tz for times without an offset",
    ]

    /// Why this command line cannot mean what it says, or nil.
    static func problem(in arguments: [String], command: ParsableCommand.Type) -> String? {
        if arguments.first == "help", arguments.dropFirst().contains(where: { !$0.hasPrefix("-") && !UsageError.path(to: command).contains($0) }) {
            let names = GoatImport.configuration.subcommands.map(UsageError.name)
            return "help \(arguments.dropFirst().joined(separator: " ")): no such command; the commands are \(names.joined(separator: ", "))"
        }
        // The options are read from the rendered help, 2 ms of a short run's 24 ms: only once an
        // argument could be a one-dash spelling.
        var options: [String: Bool]?
        var previous = ""
        for argument in arguments {
            if argument == "--" { break }
            defer { previous = argument }
            guard argument.hasPrefix("-"), !argument.hasPrefix("--"), argument.count > 1,
                  argument.dropFirst().first!.isLetter else { continue }
            let name = String(argument.dropFirst().prefix { $0 != "=" })
            if name.allSatisfy({ "vh".contains($0) }) { continue }   // goatimport's own -v, -h
            let known = options ?? longOptions(of: command)
            options = known
            // The value of an option (`--tz -05:00`) is not an option.
            if known[previous] == true { continue }
            if known["--" + name] != nil {
                return "unknown option '\(argument)': did you mean '--\(name)'? (goatimport's long options take two dashes)"
            }
            if let instead = goatcounterOnly[name] {
                return "unknown option '\(argument)': goatimport has no --\(name): \(instead)"
            }
            return "unknown option '\(argument)'"
        }
        return nil
    }

    /// The command's long options, each mapped to whether it takes a value, as its help lists them
    /// (`--site <url>` takes one, `--dry-run` none): the parser's own declaration, not a copy.
    static func longOptions(of command: ParsableCommand.Type) -> [String: Bool] {
        var options: [String: Bool] = ["--help": false, "--version": false]
        let words = GoatImport.helpMessage(for: command, includeHidden: false, columns: 10_000).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
        for (index, word) in words.enumerated() where word.hasPrefix("--") && word.count > 2 {
            let name = String(word.prefix { $0.isLetter || $0.isNumber || $0 == "-" })
            let next = index + 1 < words.count ? words[index + 1] : ""
            options[name] = (options[name] ?? false) || next.hasPrefix("<")
        }
        return options
    }
}
