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
}
