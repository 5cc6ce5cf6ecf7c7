// swift-tools-version:6.1
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
        // The dashboard and JSON API (`drain-admin serve`, DESIGN §6). No optional traits:
        // swift-configuration support is not used and would only lengthen the build.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // Worker metrics: recorded through swift-metrics, kept and rendered by swift-prometheus.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
    ],
    targets: [
        // Thin C bindings: module maps only (plus curl's typed setopt shims).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Safe wrappers: each owns its C pointers.
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        .target(name: "LibCrypto", dependencies: ["CCrypto"]),

        // Domain logic: wire format, validation, redaction, backoff. Knows no C types.
        .target(name: "DrainCore", dependencies: ["LibCrypto"]),
        // The database side of the product: migrations and every SQL statement, in one place.
        .target(name: "DrainStore", dependencies: ["DrainCore", "Postgres"], plugins: ["EmbedMigrations"]),
        .executableTarget(name: "embed-sql"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-sql"]),
        // Endpoint delivery shared by the worker and the admin's test sends.
        .target(name: "Delivery", dependencies: ["DrainCore", "HTTPClient"]),
        // The kits: what each executable does, over the stores, delivery and the domain.
        .target(name: "DrainWorkerKit", dependencies: [
            "DrainCore", "DrainStore", "Delivery",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .target(name: "DrainAdminKit", dependencies: ["DrainCore", "DrainStore", "Delivery"]),

        // `drain-admin serve`: the JSON API and the server-rendered dashboard over DrainAdminKit.
        .target(name: "DrainServeKit", dependencies: [
            "DrainAdminKit", "DrainCore", "DrainStore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Executables: argument parsing and wiring.
        .executableTarget(name: "drain-admin", dependencies: [
            "DrainAdminKit", "DrainServeKit", "DrainCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "drain-worker", dependencies: [
            "DrainWorkerKit", "DrainCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // One test target per module under test; IntegrationTests drive the built executables
        // against a real PostgreSQL and a real HTTPS receiver.
        .testTarget(name: "LibCryptoTests", dependencies: ["LibCrypto"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient"]),
        .testTarget(name: "DrainCoreTests", dependencies: ["DrainCore"]),
        .testTarget(name: "DrainStoreTests", dependencies: ["DrainStore", "DrainCore", "Postgres"]),
        .testTarget(name: "IntegrationTests", dependencies: ["DrainCore", "DrainStore", "Postgres", "HTTPClient", "LibCrypto"]),
    ],
    swiftLanguageModes: [.v6]
)
