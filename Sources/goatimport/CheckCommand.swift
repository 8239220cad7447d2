import ArgumentParser
import Foundation
import GoatImportCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check how well a format fits a log: match rate, and the first lines that do not match and why.")

    @Argument(help: ArgumentHelp("Log files, or - for standard input.", valueName: "file"))
    var files: [String] = []

    @OptionGroup var parsing: ParsingOptions

    @Option(name: .long, parsing: .unconditional, help: "How many non-matching lines to show.")
    var show: Int = 5

    @Flag(name: .long, help: "Print the PCRE2 pattern (or JSON key paths) in use.")
    var showPattern = false

    mutating func validate() throws {
        try NumberRange.show.check(show)
        if files.isEmpty && !showPattern { throw ValidationError("no input: give one or more log files, or - for standard input") }
        if files.isEmpty && parsing.format == BuiltinFormats.autoName {
            throw ValidationError("--show-pattern without a log needs --format NAME (auto chooses by reading a log)")
        }
    }

    func run() throws {
        try runCleanly { try check() }
    }

    private func check() throws {
        let inputs = InputOrder.sorted(files)
        let (format, container) = try parsing.resolveInput(inputs: inputs) { print($0) }
        if showPattern {
            print("format \(format.name): \(format.summary)")
            print(format.patternText)
            if files.isEmpty { return }
        }
        let parser = try format.makeParser()
        let fields = ParsedFields()
        let builder = PageviewBuilder(timeZone: try parsing.resolveTimeZone(), trustedProxies: try parsing.resolveTrustedProxies())
        let diagnosis = FormatDiagnosis(format: format)
        var total = 0, matched = 0, shown = 0, directives = 0, stderrLines = 0
        var pv = Pageview()
        // The first lines, kept to compare what the format reads of them with the built-in formats.
        var sample: [[UInt8]] = []
        for path in inputs {
            let reader: LineReader
            do {
                reader = LineReader(source: try InputOpener.open(path: path), maxLineLength: parsing.maxLineLength)
            } catch {
                printError("goatimport: \(error)")
                throw ExitCode(1)
            }
            // A container log: the access lines inside the wrapper, as an import reads them.
            let decoder = container == .none ? nil : ContainerLineDecoder(kind: container, reader: reader)
            do {
                while true {
                    var problem: String?
                    let line: Line
                    if let decoder {
                        guard let record = try decoder.next() else { break }
                        if record.stream == .stderr && record.problem == nil { stderrLines += 1; continue }
                        line = record.line
                        problem = record.problem
                    } else {
                        guard let next = try reader.next() else { break }
                        line = next
                    }
                    if problem != nil {
                    } else if !parser.parse(line.base, line.count, into: fields) {
                        if format.directives && line.count > 0 && line.base[0] == UInt8(ascii: "#") { directives += 1; continue }
                        problem = diagnosis.explain(Array(UnsafeBufferPointer(start: line.base, count: line.count)))
                    } else if let p = builder.build(line.base, fields, into: &pv) {
                        problem = p.rawValue
                    }
                    total += 1
                    if sample.count < 200 { sample.append(Array(UnsafeBufferPointer(start: line.base, count: line.count))) }
                    guard let problem else { matched += 1; continue }
                    if shown < show {
                        shown += 1
                        let text = PrintableText.from(UnsafeBufferPointer(start: line.base, count: min(line.count, 200)))
                        print("\(path):\(line.number): \(problem)\n    \(text)")
                    }
                }
                total += reader.tooLongLines + (decoder?.tooLongRecords ?? 0)
            } catch {
                printError("goatimport: \(error)")
            }
        }
        let rate = total > 0 ? Double(matched) * 100 / Double(total) : 0
        print(String(format: "format %@: %d of %d lines match (%.1f%%)", format.name, matched, total, rate)
              + (directives > 0 ? "; \(directives) directive lines (#…) skipped" : ""))
        if container != .none {
            print("container: a \(container.title) log: the access lines inside its wrapper were checked, parts joined"
                  + (stderrLines > 0 ? "; \(counted(stderrLines, "stderr line")) (the error log) not checked" : ""))
        }
        if matched > 0, let unread = UnreadFields.find(format, in: sample) { print("note: " + unread.explanation) }
        if !PCRE2Regex.jitAvailable {
            let scans = ((try? format.makeParser()) as? RegexLineParser)?.scans == true
            print("PCRE2 JIT unavailable (writable and executable memory is refused, e.g. MemoryDenyWriteExecute=yes): "
                  + (scans ? "this format is scanned without PCRE2, at full speed" : "patterns match on the interpreter"))
        }
        if total > 0 && matched == 0 { throw ExitCode(1) }
    }
}
