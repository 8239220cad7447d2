import ArgumentParser
import Foundation
import GoatImportCore

struct Whoami: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show the user and API key for a site, the key's permissions, and whether it can count there.",
        discussion: """
        Whether the key can count is asked of the server without recording anything: a count
        request with no hits passes the key's permission and site checks and is then refused
        as empty. It uses one request of the count rate limit.
        """)

    @OptionGroup(title: "GoatCounter") var connection: ConnectionOptions

    func run() throws {
        try runCleanly {
            let client = try connection.makeClient()
            let api = GoatCounterAPI(client: client)
            let me: MeResponse
            do { me = try api.me() } catch let error as APIError where error.status == 403 {
                // A key for other sites cannot even read /me here.
                print("site:       \(client.site.absoluteString)")
                print("can count:  no: \(error.message)")
                throw ExitCode(1)
            } catch {
                throw CleanExit.message(describeAPIFailure(error, client))
            }
            let key = try APIKey.load(file: connection.apiKeyFile)
            let token = me.token
            var lines: [(String, String)] = [("site", client.site.absoluteString)]
            if let user = me.user {
                var parts: [String] = []
                if let id = user.id { parts.append("user \(id)") }
                if let site = user.site { parts.append("account's site \(site)") }
                lines.append(("user", (user.email ?? "(no email)") + (parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))")))
            }
            // Older servers name a key after itself; never print the key.
            let name = token.name.flatMap { $0.isEmpty || $0 == key ? nil : $0 }
            lines.append(("key", name.map { "\"\($0)\"" } ?? "(unnamed)"))
            let words = token.permissionSet.words
            lines.append(("permissions", (words.isEmpty ? "none" : words.joined(separator: ", ")) + " (\(token.permissions))"))
            if let sites = token.sites {
                lines.append(("key's sites", sites.contains(-1) ? "all sites" : sites.map(String.init).joined(separator: ", ")))
            }
            let canCount: String
            if !token.permissionSet.contains(.count) {
                canCount = "no: the key lacks the \"Record pageviews\" permission"
            } else {
                do {
                    let probe = try api.probeCount()
                    canCount = probe.allowed ? "yes, on this site" : "no: \(probe.reason ?? "refused")"
                } catch {
                    throw CleanExit.message(describeAPIFailure(error, client))
                }
            }
            lines.append(("can count", canCount))
            let width = lines.map(\.0.count).max()! + 2
            for (label, value) in lines { print((label + ":").padding(toLength: width, withPad: " ", startingAt: 0) + value) }
            // Scripts ask `whoami` whether an import would be refused: the status says it.
            if !canCount.hasPrefix("yes") { throw ExitCode(1) }
        }
    }
}

/// Runs a command body, turning a `CleanExit` into one line on stderr and exit status 1.
func runCleanly(_ body: () throws -> Void) throws {
    do { try body() } catch CleanExit.message(let message) {
        printError("goatimport: \(message)")
        throw ExitCode(1)
    }
}

/// One line for a failed API call.
func describeAPIFailure(_ error: Error, _ client: GoatCounterClient) -> String {
    switch error {
    case let error as GoatCounterAPI.Failure:
        if case .gaveUp = error { return "\(client.site.absoluteString): \(error)" }
        return "\(error)"
    case let error as TransportError:
        return "cannot reach \(client.site.absoluteString): \(error.message)"
    case let error as APIError:
        let site = client.site.absoluteString
        switch error.status {
        case 400 where error.message.hasPrefix("no site at this domain"):
            return "\(site): \(error.message): --site must be the URL of one of the server's sites, at its own domain; `goatimport sites --site URL` with one of them lists the others"
        case 401: return "\(site): the API key was refused (\(error.message)); a key works only on the site it was created on (GoatCounter 2.4 answers so for another site's key too)"
        case 403 where error.message.contains("does not have access to this site"):
            return "\(site): the API key belongs to another site (\(error.message)): create a key on this site, or one for all sites"
        case 403: return "\(error.url): \(error.message); the key needs another permission (see `goatimport whoami`)"
        case 404, 405: return "\(site): no GoatCounter API there (\(error.status) on \(URL(string: error.url)?.path ?? error.url)); check --site"
        case 429: return "\(site): rate limited; try again in \(error.message)"
        default: return "\(error.url): \(error.status) \(error.message)"
        }
    default:
        return "\(error)"
    }
}
