import ArgumentParser
import Foundation
import GoatImportCore

/// The options that say how to read logs, shared by `import` and `check`.
struct ParsingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Log format: a built-in name (see `goatimport formats`), nginx:'<log_format>', apache:'<LogFormat>', regex:'<PCRE2 with named groups>' or @file.",
        valueName: "format"))
    var format: String = BuiltinFormats.defaultName

    @Option(name: .long, help: ArgumentHelp("Time zone of timestamps that carry no offset: UTC, +HH:MM or a zone name such as Europe/Amsterdam.", valueName: "zone"))
    var tz: String = "UTC"

    @Option(name: .long, help: ArgumentHelp("Skip (and count) lines longer than this many bytes.", valueName: "bytes"))
    var maxLineLength: Int = 64 * 1024

    func resolveFormat() throws -> LogFormat {
        do { return try LogFormat.resolve(format) } catch {
            throw ValidationError("--format: \(error)")
        }
    }

    /// The importer's options from these flags and the filter flags: one place for import and verify.
    func importerOptions(filters: FilterOptions) throws -> Importer.Options {
        var options = Importer.Options(format: try resolveFormat())
        options.filter = try filters.resolve()
        options.timeZone = try resolveTimeZone()
        options.maxLineLength = maxLineLength
        options.onInputError = { printError("goatimport: error: \($0)") }
        return options
    }

    func resolveTimeZone() throws -> LogTimeZone {
        do { return try LogTimeZone(tz) } catch { throw ValidationError("\(error)") }
    }
}

/// Prints one line to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
