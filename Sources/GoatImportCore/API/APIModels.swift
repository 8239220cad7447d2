import Foundation

/// `goatcounter.APIToken`: permissions are bit flags.
public struct APIToken: Codable, Sendable {
    public var name: String?
    public var permissions: Int

    public struct Permissions: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let count = Permissions(rawValue: 1 << 1)
        public static let export = Permissions(rawValue: 1 << 2)
        public static let siteRead = Permissions(rawValue: 1 << 3)
        public static let siteCreate = Permissions(rawValue: 1 << 4)
        public static let siteUpdate = Permissions(rawValue: 1 << 5)
        public static let stats = Permissions(rawValue: 1 << 6)

        public static let names: [(Permissions, String)] = [
            (.count, "record pageviews"), (.export, "export"), (.siteRead, "read sites"),
            (.siteCreate, "create sites"), (.siteUpdate, "update sites"), (.stats, "read statistics"),
        ]
    }

    public var permissionSet: Permissions { Permissions(rawValue: permissions) }
}

/// `goatcounter.User`, the fields goatimport shows; others are tolerated and ignored.
public struct User: Codable, Sendable {
    public var id: Int?
    public var site: Int?
    public var email: String?
}

/// The reply of `GET /api/v0/me`.
public struct MeResponse: Codable, Sendable {
    public var user: User?
    public var token: APIToken
}
