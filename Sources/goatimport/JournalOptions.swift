import ArgumentParser
import GoatImportCore

/// Where journal entries come from instead of files: journalctl's own options.
struct JournalOptions: ParsableArguments {
    @Flag(name: .long, help: "Read the system journal instead of files (each entry's MESSAGE is a log line).")
    var journal = false

    @Option(name: .long, help: ArgumentHelp("Read this journal file (repeatable) instead of the system journal.", valueName: "path"))
    var journalFile: [String] = []

    @Option(name: .long, help: ArgumentHelp("Read the journal files in this directory instead of the system journal.", valueName: "dir"))
    var journalDirectory: String?

    @Option(name: .long, help: ArgumentHelp("Only this unit's entries (journalctl -u; repeatable; 'caddy' is caddy.service).", valueName: "name"))
    var unit: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only entries with this syslog identifier (journalctl -t; repeatable), e.g. nginx.", valueName: "name"))
    var identifier: [String] = []

    var isGiven: Bool { journal || !journalFile.isEmpty || journalDirectory != nil }

    func validate(files: [String]) throws {
        if !isGiven {
            if !unit.isEmpty || !identifier.isEmpty { throw ValidationError("--unit and --identifier pick journal entries: add --journal (or --journal-file / --journal-directory)") }
            return
        }
        if !files.isEmpty { throw ValidationError("the journal is read instead of files: drop the file arguments or the journal options") }
        if journalDirectory != nil && !journalFile.isEmpty { throw ValidationError("--journal-file and --journal-directory: give one") }
    }

    var selection: JournalSelection {
        JournalSelection(files: journalFile, directory: journalDirectory, units: unit, identifiers: identifier)
    }

    /// The first entries' messages, for format detection.
    func sample(maxLines: Int = 50) throws -> [[UInt8]] {
        let reader = try JournalReader(selection)
        try reader.seek(after: nil)
        var lines: [[UInt8]] = []
        while lines.count < maxLines, try reader.next() {
            if let m = reader.message(), reader.priority() > 4 { lines.append(Array(m)) }
        }
        return lines
    }
}
