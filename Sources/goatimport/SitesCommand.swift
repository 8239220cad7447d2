import ArgumentParser
import Foundation
import GoatImportCore

struct Sites: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sites",
        abstract: "List the account's sites, or create one.",
        subcommands: [List.self, Create.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the sites this key can see: id, domain, link domain, whether it has data, first hit (needs \"read sites\").")

        @OptionGroup(title: "GoatCounter") var connection: ConnectionOptions

        func run() throws {
            try runCleanly {
                let client = try connection.makeClient()
                let api = GoatCounterAPI(client: client)
                let sites: [Site]
                do { sites = try api.sites() } catch { throw CleanExit.message(describeAPIFailure(error, client)) }
                var table = [["ID", "DOMAIN", "LINK DOMAIN", "DATA", "FIRST HIT"]]
                for site in sites {
                    let hasData = site.receivedData ?? false
                    table.append([
                        site.id.map(String.init) ?? "-", site.domain,
                        site.linkDomain.flatMap { $0.isEmpty ? nil : $0 } ?? "-",
                        hasData ? "yes" : "no",
                        hasData ? site.firstHitAt.map(formatUTC) ?? "-" : "-",
                    ])
                }
                printTable(table)
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a site (needs \"create sites\").")

        @Option(name: .long, help: ArgumentHelp("The new site's domain, e.g. stats.example.org (self-hosted: the vhost it is served at).", valueName: "domain"))
        var cname: String

        @Option(name: .long, help: ArgumentHelp("The domain the site's pages are on, for links (e.g. www.example.org).", valueName: "domain"))
        var linkDomain: String?

        @OptionGroup(title: "GoatCounter") var connection: ConnectionOptions

        mutating func validate() throws {
            cname = cname.trimmingCharacters(in: .whitespaces).lowercased()
            if cname.isEmpty || cname.contains("/") || cname.contains(":") || cname.contains(" ") {
                throw ValidationError("--cname \(cname): expected a domain name such as stats.example.org (no scheme, port or path)")
            }
        }

        func run() throws {
            try runCleanly {
                let client = try connection.makeClient()
                let api = GoatCounterAPI(client: client)
                let site: Site
                do { site = try api.createSite(Site(cname: cname, linkDomain: linkDomain)) } catch let error as APIError where error.status == 400 {
                    throw CleanExit.message("cannot create \(cname): \(error.message)")
                } catch {
                    throw CleanExit.message(describeAPIFailure(error, client))
                }
                print("created site \(site.id.map(String.init) ?? "?"): \(site.domain)"
                      + (site.linkDomain.flatMap { $0.isEmpty ? nil : " (link domain \($0))" } ?? ""))
                print("send its pageviews with --site \(client.site.scheme ?? "https")://\(site.domain) once that name reaches the GoatCounter server")
            }
        }

    }
}

func formatUTC(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
    return formatter.string(from: date)
}

/// Columns padded to their widest cell, two spaces apart, no trailing spaces.
func printTable(_ rows: [[String]], rightAligned: Set<Int> = []) {
    guard let columns = rows.map(\.count).max() else { return }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    for row in rows {
        let cells = row.enumerated().map { i, cell -> String in
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            return rightAligned.contains(i) ? pad + cell : (i == row.count - 1 ? cell : cell + pad)
        }
        var line = cells.joined(separator: "  ")
        while line.hasSuffix(" ") { line.removeLast() }
        print(line)
    }
}
