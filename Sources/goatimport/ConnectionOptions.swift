import ArgumentParser
import Foundation
import GoatImportCore

/// Where the GoatCounter site is and how to authenticate: shared by every command that talks to it.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The GoatCounter site's URL, e.g. https://stats.example.com (its host selects the site).", valueName: "url"))
    var site: String?

    @Option(name: .long, help: ArgumentHelp("Read the API key from this file (mode 0600) instead of $GOATCOUNTER_API_KEY.", valueName: "path"))
    var apiKeyFile: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds to wait for a reply before retrying, 0.1 to 3600 (doubled after each request that gets none in time).", valueName: "seconds"))
    var timeout: Double = 60

    func validate() throws { try NumberRange.timeout.check(timeout) }

    func makeClient() throws -> GoatCounterClient {
        guard let site else { throw ValidationError("--site is required: the GoatCounter site's URL") }
        return try makeClient(site: site)
    }

    /// A client for one site of a site map (its own key file, else the common key; same timeout).
    func makeClient(site: String, keyFile: String? = nil) throws -> GoatCounterClient {
        let url: URL
        do { url = try GoatCounterClient.parseSite(site) } catch { throw ValidationError("\(error)") }
        if GoatCounterClient.assumesHTTPS(site) {
            printError("goatimport: --site \(site): no scheme given; using \(url.absoluteString) (as goatcounter import does)")
        }
        if url.scheme?.lowercased() == "http", let host = url.host, !Self.isLoopback(host) {
            printError("goatimport: warning: \(url.absoluteString) is plain http: the API key and the hits cross the network unencrypted; use https")
        }
        return GoatCounterClient(site: url, apiKey: try APIKey.load(file: keyFile ?? apiKeyFile),
                                 transport: AsyncHTTPTransport(timeout: timeout))
    }

    /// Plain http stays on this machine only to these hosts.
    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || (h.hasPrefix("127.") && IPAddress(h) != nil)
    }

    /// `GET /api/v0/me` through the API's request loop (a 429 is waited out: GoatCounter 2.4
    /// counts it with the counts of a run just before), turned into one clear line when it fails.
    /// `retryFor`: how long rate-limit waits may last (nil: as long as the server asks, in follow mode).
    static func preflight(_ api: GoatCounterAPI, needing permission: APIToken.Permissions?, retryFor: Double? = 120) throws -> MeResponse {
        let client = api.client
        let me: MeResponse
        let policy = GoatCounterAPI.Policy(resend: false, retryFor: retryFor, backoff: api.options.backoff, maxRateLimitWait: nil)
        do { me = try api.me(policy: policy) } catch {
            throw CleanExit.message(describeAPIFailure(error, client))
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
