// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "LogDrain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "drain-admin", targets: ["drain-admin"]),
        .executable(name: "drain-worker", targets: ["drain-worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Thin C bindings: module maps only (plus curl's typed setopt shims).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Safe wrappers: each owns its C pointers.
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        .target(name: "Crypto", dependencies: ["CCrypto"]),

        // Domain logic: wire format, validation, redaction, backoff. Knows no C types.
        .target(name: "DrainCore", dependencies: ["Crypto"]),
        // The database side of the product: migrations and every SQL statement, in one place.
        .target(name: "DrainStore", dependencies: ["DrainCore", "Postgres"], plugins: ["EmbedMigrations"]),
        .executableTarget(name: "embed-sql"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-sql"]),
        // Endpoint delivery shared by the worker and the admin's test sends.
        .target(name: "Delivery", dependencies: ["DrainCore", "HTTPClient"]),
        .target(name: "DrainWorkerKit", dependencies: [
            "DrainCore", "DrainStore", "Delivery", "Postgres",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "DrainAdminKit", dependencies: [
            "DrainCore", "DrainStore", "Delivery", "Postgres",
        ]),

        .executableTarget(name: "drain-admin", dependencies: [
            "DrainAdminKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "drain-worker", dependencies: [
            "DrainWorkerKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "DrainCoreTests", dependencies: ["DrainCore", "Crypto", "HTTPClient", "Delivery"]),
        .testTarget(name: "IntegrationTests", dependencies: ["DrainCore", "DrainStore", "Postgres", "HTTPClient", "Crypto"]),
    ],
    swiftLanguageModes: [.v6]
)
