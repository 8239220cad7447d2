import ArgumentParser
import Foundation
import GoatImportCore

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read access logs and send each pageview to GoatCounter (or print it with --dry-run).",
        discussion: """
        Files are read oldest first when they form a rotated set (access.log.2.gz access.log.1 access.log),
        gzip is detected by content, and - reads standard input.
        """
    )

    @Argument(help: ArgumentHelp("Log files (plain or gzip), or - for standard input.", valueName: "file"))
    var files: [String] = []

    @OptionGroup var parsing: ParsingOptions
    @OptionGroup var filters: FilterOptions

    @Flag(name: .long, help: "Print each hit as one JSON object per line on stdout instead of sending it.")
    var dryRun = false

    @Flag(name: .shortAndLong, help: "Show each malformed line with file:line on stderr.")
    var verbose = false

    mutating func validate() throws {
        if files.isEmpty { throw ValidationError("no input: give one or more log files, or - for standard input") }
        if !dryRun { throw ValidationError("nothing to do: pass --dry-run to print hits (uploading needs --site, coming next)") }
    }

    func run() throws {
        let format = try parsing.resolveFormat()
        var options = Importer.Options(format: format)
        options.filter = try filters.resolve()
        options.timeZone = try parsing.resolveTimeZone()
        options.maxLineLength = parsing.maxLineLength
        if verbose {
            options.onMalformed = { file, line, reason, text in printError("\(file):\(line): \(reason): \(text)") }
        }
        options.onInputError = { printError("error: \($0)") }
        let inputs = InputOrder.sorted(files)
        do { try Importer.checkReadable(inputs) } catch {
            printError("goatimport: \(error)")
            throw ExitCode(1)
        }
        let importer = try Importer(options: options)
        let summary = try importer.run(inputs: inputs, into: NDJSONSink())
        var report = summary.render()
        report = report.split(separator: "\n").map { "goatimport: " + $0 }.joined(separator: "\n")
        printError(report)
        if !summary.inputErrors.isEmpty { throw ExitCode(1) }
    }
}
