import ArgumentParser
import Foundation
import GoatImportCore

/// Where the GoatCounter site is and how to authenticate: shared by every command that talks to it.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The GoatCounter site's URL, e.g. https://stats.example.com (its host selects the site).", valueName: "url"))
    var site: String?

    @Option(name: .long, help: ArgumentHelp("Read the API key from this file (mode 0600) instead of $GOATCOUNTER_API_KEY.", valueName: "path"))
    var apiKeyFile: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds to wait for a reply before retrying (0.1 to 3600).", valueName: "seconds"))
    var timeout: Double = 60

    func validate() throws { try NumberRange.timeout.check(timeout) }

    func makeClient() throws -> GoatCounterClient {
        guard let site else { throw ValidationError("--site is required: the GoatCounter site's URL") }
        return try makeClient(site: site)
    }

    /// A client for one site of a site map (same key, same timeout).
    func makeClient(site: String) throws -> GoatCounterClient {
        let url: URL
        do { url = try GoatCounterClient.parseSite(site) } catch { throw ValidationError("\(error)") }
        if url.scheme?.lowercased() == "http", let host = url.host, !Self.isLoopback(host) {
            printError("goatimport: warning: \(url.absoluteString) is plain http: the API key and the hits cross the network unencrypted; use https")
        }
        return GoatCounterClient(site: url, apiKey: try APIKey.load(file: apiKeyFile),
                                 transport: AsyncHTTPTransport(timeout: timeout))
    }

    /// Plain http stays on this machine only to these hosts.
    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || (h.hasPrefix("127.") && IPAddress(h) != nil)
    }

    /// `GET /api/v0/me`, turned into one clear line when it fails.
    static func preflight(_ client: GoatCounterClient, needing permission: APIToken.Permissions?) throws -> MeResponse {
        let me: MeResponse
        do { me = try client.me() } catch let error as TransportError {
            throw CleanExit.message("cannot reach \(client.site.absoluteString): \(error.message)")
        } catch let error as APIError {
            switch error.status {
            case 401: throw CleanExit.message("\(client.site.absoluteString): the API key was refused (\(error.message))")
            case 404, 405: throw CleanExit.message("\(client.site.absoluteString): no GoatCounter API there (\(error.status) on /api/v0/me); check --site")
            case 429: throw CleanExit.message("\(client.site.absoluteString): rate limited; try again in \(error.message)")
            default: throw CleanExit.message("\(client.site.absoluteString): \(error.status) \(error.message)")
            }
        } catch {
            throw CleanExit.message("\(client.site.absoluteString): \(error)")
        }
        if let permission, !me.token.permissionSet.contains(permission) {
            let have = APIToken.Permissions.names.filter { me.token.permissionSet.contains($0.0) }.map(\.1)
            // Some servers name a key after the key itself: never print that.
            let name = me.token.name.flatMap { $0.isEmpty || client.isKey($0) ? nil : "\"\($0)\" " } ?? ""
            throw CleanExit.message("\(client.site.absoluteString): the API key \(name)cannot record pageviews (it may: \(have.isEmpty ? "nothing" : have.joined(separator: ", "))); create a key with the \"Record pageviews\" permission")
        }
        return me
    }
}

/// A failure that is fully described by one line on stderr and exit status 1.
enum CleanExit: Error {
    case message(String)
}
