import ArgumentParser
import GoatImportCore

/// `--site-map`: one log, many GoatCounter sites, routed by each line's host.
struct SiteMapOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Send a virtual host's pageviews to its own site (repeatable). HOST is a name or a glob (*.example.com, * for the rest); exact names win, then globs in the order given. Lines of other hosts are skipped and counted by host. Needs a format with the host (combined-vhost, caddy, nginx $host, Apache %v).",
        valueName: "host=url"))
    var siteMap: [String] = []

    @Option(name: .long, help: ArgumentHelp("Read the site map from a file: one HOST URL [KEYFILE] (or HOST=URL) per line, # for comments. KEYFILE (mode 0600, relative to the map's directory) holds that site's API key; without it the site uses $GOATCOUNTER_API_KEY or --api-key-file.", valueName: "path"))
    var siteMapFile: String?

    var isGiven: Bool { !siteMap.isEmpty || siteMapFile != nil }

    func makeMap() throws -> SiteMap? {
        guard isGiven else { return nil }
        var map = SiteMap()
        do {
            if let siteMapFile { try map.addFile(siteMapFile) }
            for spec in siteMap { try map.add(spec, origin: "--site-map") }
        } catch let error as SiteMap.ParseError {
            throw ValidationError(error.description)
        }
        if map.isEmpty { throw ValidationError("--site-map-file \(siteMapFile ?? ""): no HOST=URL lines in it") }
        return map
    }
}
