// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "goatimport",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "goatimport", targets: ["goatimport"]),
        .library(name: "GoatImportCore", targets: ["GoatImportCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .systemLibrary(
            name: "CISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // Header only: the cache prefetch hint and the SIMD byte scans of the pattern scanner.
        .systemLibrary(name: "CIntrinsics"),
        .target(
            name: "GoatImportCore",
            dependencies: [
                "CPCRE2", "CISAL", "CSystemd", "CIntrinsics",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            // Dynamic exclusivity checks on the hot path's buffers cost ~20% of a dry run;
            // the parsing pipeline is single-threaded by construction.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "goatimport",
            dependencies: [
                "GoatImportCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The visit cost per hit (scripts/bench.sh measures the whole command).
        .executableTarget(name: "bench-visits", dependencies: ["GoatImportCore"], path: "Benchmarks/bench-visits"),
        .testTarget(
            name: "GoatImportCoreTests",
            // The executable too: CLI tests run the real binary.
            dependencies: ["GoatImportCore", "goatimport"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
