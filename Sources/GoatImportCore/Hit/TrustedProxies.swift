/// The addresses whose X-Forwarded-For is believed: the proxies in front of the logging server.
/// A header that arrives from any other address was written by the client, who can put any
/// address in it.
public struct TrustedProxies: Sendable {
    /// nil: loopback and the private ranges (`IPAddress.isPrivate`), where a local or internal
    /// proxy sits.
    public let networks: [CIDR]?

    public static let loopbackAndPrivate = TrustedProxies(networks: nil)

    public init(networks: [CIDR]?) { self.networks = networks }

    @inline(__always)
    public func contains(_ ip: IPAddress) -> Bool {
        guard let networks else { return ip.isPrivate }
        for network in networks where network.contains(ip) { return true }
        return false
    }
}
