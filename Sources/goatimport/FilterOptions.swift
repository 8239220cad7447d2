import ArgumentParser
import GoatImportCore

struct FilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Turn off a default filter (repeatable): \(SkipReason.defaultFilters.map(\.name).joined(separator: ", ")). Default filters skip: "
            + SkipReason.defaultFilters.map { "\($0.name): \($0.explanation)" }.joined(separator: "; ") + ".",
        valueName: "filter"),
        completion: .list(SkipReason.defaultFilters.map(\.name)))
    var keep: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Skip lines matching RULE (repeatable): path:glob:/admin/*, path:re:^/wp-, ip:10.0.0.0/8, status:404,5xx, ua:Uptime, ua:re:…, host:glob:*.test, ref:…, method:POST.",
        valueName: "rule"))
    var exclude: [String] = []

    @Option(name: .long, help: ArgumentHelp("Re-admit lines matching RULE that a filter or --exclude would skip (repeatable; same syntax as --exclude).", valueName: "rule"))
    var include: [String] = []

    @Option(name: .long, help: ArgumentHelp("Skip lines before this time (2026-11-01 or 2026-11-01T12:00:00Z; a date is midnight UTC).", valueName: "time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Skip lines at or after this time (same forms as --since).", valueName: "time"))
    var until: String?

    func resolve() throws -> LineFilter.Options {
        var options = LineFilter.Options()
        for name in keep.flatMap({ $0.split(separator: ",").map(String.init) }) {
            guard let reason = SkipReason.defaultFilters.first(where: { $0.name == name }) else {
                throw ValidationError("--keep \(name): unknown filter; filters: \(SkipReason.defaultFilters.map(\.name).joined(separator: ", "))")
            }
            options.enabled.remove(reason)
        }
        do {
            options.excludes = try Self.withoutDefaultFilters(exclude).map(Rule.init)
            options.includes = try include.map(Rule.init)
        } catch {
            throw ValidationError("\(error)")
        }
        options.since = try since.map { try Self.parseTime($0, flag: "--since") }
        options.until = try until.map { try Self.parseTime($0, flag: "--until") }
        return options
    }

    /// goatcounter import's `-exclude static` names a filter that is on here already: say so
    /// instead of refusing it as a rule; and a path glob that cannot match gets a hint.
    private static func withoutDefaultFilters(_ rules: [String]) -> [String] {
        rules.filter { rule in
            if let filter = SkipReason.defaultFilters.first(where: { $0.name == rule }) {
                printError("goatimport: --exclude \(rule): \(filter.name) is already a default filter (--keep \(filter.name) turns it off)")
                return false
            }
            if let hint = Rule.hint(rule) { printError("goatimport: --exclude \(rule): \(hint)") }
            return true
        }
    }

    static func parseTime(_ text: String, flag: String) throws -> Int {
        var bytes = Array(text.utf8)
        if bytes.count == 10 { bytes += Array("T00:00:00Z".utf8) }
        let parsed = bytes.withUnsafeBufferPointer { Timestamp.parseISO8601($0.baseAddress!, $0.count) }
        guard let parsed else {
            throw ValidationError("\(flag) \(text): expected a date (2026-11-01) or an RFC 3339 time (2026-11-01T12:00:00Z)")
        }
        return parsed.seconds
    }
}
