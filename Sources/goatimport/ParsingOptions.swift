import ArgumentParser
import Foundation
import GoatImportCore

/// The options that say how to read logs, shared by `import` and `check`.
struct ParsingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Log format: auto (the built-in format that reads the first lines best), a built-in name (see `goatimport formats`), nginx:'<log_format>', apache:'<LogFormat>', regex:'<PCRE2 with named groups>' or @file.",
        valueName: "format"),
        completion: .list([BuiltinFormats.autoName] + BuiltinFormats.all.map(\.name)))
    var format: String = BuiltinFormats.autoName

    @Option(name: .long, help: ArgumentHelp("Time zone of timestamps that carry no offset: UTC, +HH:MM or a zone name such as Europe/Amsterdam.", valueName: "zone"))
    var tz: String = "UTC"

    @Option(name: .long, help: ArgumentHelp("Skip (and count) lines longer than this many bytes.", valueName: "bytes"))
    var maxLineLength: Int = 64 * 1024

    @Option(name: .long, help: ArgumentHelp(
        "Believe X-Forwarded-For only from these addresses (repeatable; an address or CIDR network, or none; default: loopback and private ranges). The client is the rightmost address in the header that is not one of them.",
        valueName: "cidr"))
    var trustedProxy: [String] = []

    func resolveTrustedProxies() throws -> TrustedProxies {
        if trustedProxy.isEmpty { return .loopbackAndPrivate }
        if trustedProxy == ["none"] { return TrustedProxies(networks: []) }
        return TrustedProxies(networks: try trustedProxy.flatMap { $0.split(separator: ",") }.map { spec in
            guard let network = CIDR(String(spec)) else {
                throw ValidationError("--trusted-proxy \(spec): expected an address or a CIDR network such as 10.0.0.0/8, or none")
            }
            return network
        })
    }

    func resolveFormat() throws -> LogFormat {
        do { return try LogFormat.resolve(format) } catch {
            throw ValidationError("--format: \(error)")
        }
    }

    /// The format to read `inputs` with. For `auto`, the built-in format that reads their first
    /// lines best, with the choice and its reason given to `report` (what it read of a stream is
    /// read again by the import: `StreamInputs`).
    func resolveFormat(inputs: [String], report: (String) -> Void) throws -> LogFormat {
        guard format == BuiltinFormats.autoName else { return try resolveFormat() }
        let sample = InputSample.read(inputs, maxLineLength: maxLineLength)
        let detection = FormatDetector.detect(sample.lines)
        if detection.sampled == 0 {
            report("format: auto found no lines to look at; using \(BuiltinFormats.fallbackName) (choose with --format)")
            return BuiltinFormats.named(BuiltinFormats.fallbackName)!
        }
        guard let chosen = detection.format else {
            let input = sample.inputs.count == 1 ? sample.inputs[0] : sample.inputs.joined(separator: ", ")
            throw CleanExit.message("\(FormatError.noFormatMatches(lines: detection.sampled, input: input))")
        }
        report("format: auto chose \(detection.explanation)")
        return chosen
    }

    /// The importer's options from these flags and the filter flags: one place for import and verify.
    func importerOptions(filters: FilterOptions, inputs: [String]) throws -> Importer.Options {
        let format = try resolveFormat(inputs: inputs) { printError("goatimport: " + $0) }
        var options = Importer.Options(format: format)
        options.filter = try filters.resolve()
        options.timeZone = try resolveTimeZone()
        options.trustedProxies = try resolveTrustedProxies()
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
