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

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Skip (and count) lines longer than this many bytes (64 to 67108864).", valueName: "bytes"))
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

    func validate() throws { try NumberRange.maxLineLength.check(maxLineLength) }

    func resolveFormat() throws -> LogFormat {
        do { return try LogFormat.resolve(format) } catch {
            throw ValidationError("--format: \(error)")
        }
    }

    @Option(name: .long, help: ArgumentHelp("Container log wrapper: auto (recognised from the first line), docker (json-file), cri (Kubernetes nodes) or none.", valueName: "kind"))
    var container: String = "auto"

    /// The format to read `inputs` with, and the container wrapper around their lines. For
    /// `auto`, the built-in format that reads their first lines best (inside the wrapper), with
    /// the choice and its reason given to `report`; what it read of standard input comes back
    /// as `stdinHead`, to be read again.
    func resolveFormat(inputs: [String], report: (String) -> Void) throws -> LogFormat {
        try resolveInput(inputs: inputs, report: report).format
    }

    func resolveInput(inputs: [String], report: (String) -> Void) throws -> (format: LogFormat, container: ContainerLog) {
        var wrapper = ContainerLog(rawValue: container)
        guard container == "auto" || wrapper != nil else {
            throw ValidationError("--container must be auto, docker, cri or none")
        }
        guard format == BuiltinFormats.autoName || wrapper == nil else { return (try resolveFormat(), wrapper!) }
        let sample = InputSample.read(inputs, maxLineLength: maxLineLength)
        if wrapper == nil {
            wrapper = ContainerLog.detect(sample.lines)
            if wrapper != ContainerLog.none { report("container: auto found \(wrapper!.rawValue) log lines") }
        }
        guard format == BuiltinFormats.autoName else { return (try resolveFormat(), wrapper!) }
        let input = sample.inputs.count == 1 ? sample.inputs[0] : sample.inputs.joined(separator: ", ")
        return (try chooseFormat(wrapper!.unwrap(sample.lines), input: input, report: report), wrapper!)
    }

    /// The built-in format that reads `lines` best (`--format auto`), or the one named.
    func chooseFormat(_ lines: [[UInt8]], input: String, report: (String) -> Void) throws -> LogFormat {
        guard format == BuiltinFormats.autoName else { return try resolveFormat() }
        let detection = FormatDetector.detect(lines)
        if detection.sampled == 0 {
            report("format: auto found no lines to look at; using \(BuiltinFormats.fallbackName) (choose with --format)")
            return BuiltinFormats.named(BuiltinFormats.fallbackName)!
        }
        guard let chosen = detection.format else {
            throw CleanExit.message("\(FormatError.noFormatMatches(lines: detection.sampled, input: input))")
        }
        report("format: auto chose \(detection.explanation)")
        return chosen
    }

    /// The importer's options from these flags and the filter flags: one place for import and verify.
    func importerOptions(filters: FilterOptions, inputs: [String], journal: JournalOptions? = nil) throws -> Importer.Options {
        let (format, container) = try journal.map {
            (try chooseFormat(try $0.sample(), input: "the journal") { printError("goatimport: " + $0) }, ContainerLog.none)
        } ?? resolveInput(inputs: inputs) { printError("goatimport: " + $0) }
        var options = Importer.Options(format: format)
        options.container = container
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

/// Prints one line to stderr (with its syslog priority under systemd), above the status line.
/// `priority`: when the words do not say it (a message that ends the run is an error).
func printError(_ message: String, priority: Int? = nil) {
    StatusLine.shared.printAbove(JournalPriority.mark(message, priority: priority) + "\n")
}
