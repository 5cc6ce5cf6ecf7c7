import ArgumentParser
import DrainCore
import DrainWorkerKit
import Foundation
import Logging

struct DrainWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain-worker",
        abstract: "Deliver log drains: claim due drains, send signed NDJSON batches, record outcomes.",
        discussion: """
            Run any number of workers against one database; they share the work through row \
            leases. SIGTERM or SIGINT stops claiming, lets in-flight deliveries finish (at most \
            the \(Int(Limits.deliveryTimeoutSeconds)) s delivery timeout), and exits 0.

            Connections to endpoints are direct: HTTPS_PROXY, ALL_PROXY and their lowercase forms \
            are ignored (an address policy cannot see through a proxy it did not choose). \
            --proxy names a proxy explicitly; it is then the trusted egress.

            Environment: DATABASE_URL, DRAIN_CA_FILE, DRAIN_ALLOW_PRIVATE_ENDPOINTS=1, DRAIN_PROXY, \
            DRAIN_SECRET_KEYS_FILE, DRAIN_TRANSACTION_POOLING=1, DRAIN_READ_DATABASE_URL, LOG_LEVEL.

            Example:
              DATABASE_URL=postgresql://logdrain@db/logdrain drain-worker --name worker-1 --concurrency 64
            """)

    @Option(help: "PostgreSQL URL or conninfo (default: $DATABASE_URL, else libpq's PG* defaults).")
    var databaseURL: String?

    @Option(help: "Name shown in `drain-admin workers` and used as the lease owner (default: HOST-PID).")
    var name: String?

    @Option(help: "Drains in flight at once.")
    var concurrency: Int = 32

    @Option(help: "Seconds between deliveries of a drain that has caught up.")
    var interval: Double = 1

    @Option(help: "Seconds a claimed drain stays leased to this worker (must exceed the \(Int(Limits.deliveryTimeoutSeconds)) s delivery timeout).")
    var lease: Double = Limits.defaultLeaseSeconds

    @Option(help: "First retry delay in seconds after a failed delivery (doubles per failure, with jitter).")
    var backoffBase: Double = 1

    @Option(help: "Longest retry delay in seconds (also caps Retry-After).")
    var backoffMax: Double = 60

    @Option(help: "Extra PEM CA bundle to trust for endpoints (default: $DRAIN_CA_FILE).")
    var caFile: String?

    @Flag(help: "Allow endpoints on loopback, private, link-local and metadata addresses (or DRAIN_ALLOW_PRIVATE_ENDPOINTS=1).")
    var allowPrivateEndpoints = false

    @Option(help: "Serve Prometheus metrics on HOST:PORT.")
    var metricsAddress: String?

    @Option(help: ArgumentHelp("Keys that decrypt drain secrets stored encrypted: one 'KEY_ID BASE64_OF_32_BYTES' a line (default: $DRAIN_SECRET_KEYS_FILE).", valueName: "path"))
    var secretKeysFile: String?

    @Option(help: "Send endpoint requests through this proxy (http://HOST:PORT), the trusted egress (default: $DRAIN_PROXY; none).")
    var proxy: String?

    @Option(help: "Read log rows from this streaming hot standby while claims and outcomes go to --database-url (default: $DRAIN_READ_DATABASE_URL; none).")
    var readDatabaseURL: String?

    @Flag(help: "The database URL is a transaction-pooling proxy (pgbouncer pool_mode=transaction): no named prepared statements, no session timeouts (or DRAIN_TRANSACTION_POOLING=1).")
    var transactionPooling = false

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 10_000 else { throw ValidationError("concurrency: must be between 1 and 10000 (got \(concurrency))") }
        guard interval > 0 else { throw ValidationError("interval: must be greater than 0 (got \(interval))") }
        guard lease > Limits.deliveryTimeoutSeconds else {
            throw ValidationError("lease: must exceed the \(Int(Limits.deliveryTimeoutSeconds)) s delivery timeout (got \(lease))")
        }
        guard backoffBase > 0 else { throw ValidationError("backoff-base: must be greater than 0 (got \(backoffBase))") }
        guard backoffMax >= backoffBase else { throw ValidationError("backoff-max: must be at least backoff-base (got \(backoffMax))") }
        let config = try resolvedConfiguration()
        if let ca = config.caFile, !FileManager.default.isReadableFile(atPath: ca) {
            throw ValidationError("ca-file: cannot read \(ca)")
        }
        if let p = config.proxy, !(p.hasPrefix("http://") || p.hasPrefix("https://") || p.hasPrefix("socks5://")) {
            throw ValidationError("proxy: must be an http://, https:// or socks5:// URL (got \(p))")
        }
    }

    /// The one place flags and the environment become the worker's configuration: a flag wins
    /// over its variable, an empty variable counts as unset.
    func resolvedConfiguration() throws -> WorkerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        func env(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        let keys: SecretKeys?
        do {
            keys = try (secretKeysFile ?? env("DRAIN_SECRET_KEYS_FILE")).map { path throws(ValidationFailure) in try SecretKeys.load(path: path) }
        } catch {
            throw ValidationError(error.description)
        }
        return WorkerConfiguration(
            databaseURL: databaseURL ?? env("DATABASE_URL") ?? "",
            name: name ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)",
            concurrency: concurrency, interval: interval, lease: lease,
            backoff: Backoff(base: backoffBase, cap: backoffMax),
            caFile: caFile ?? env("DRAIN_CA_FILE"),
            allowPrivateEndpoints: allowPrivateEndpoints || env("DRAIN_ALLOW_PRIVATE_ENDPOINTS") == "1",
            metricsAddress: metricsAddress, proxy: proxy ?? env("DRAIN_PROXY"),
            transactionPooling: transactionPooling || env("DRAIN_TRANSACTION_POOLING") == "1",
            readDatabaseURL: readDatabaseURL ?? env("DRAIN_READ_DATABASE_URL"),
            secretKeys: keys, logLevel: env("LOG_LEVEL").flatMap { Logger.Level(rawValue: $0) } ?? .info)
    }

    func run() throws {
        let config = try resolvedConfiguration()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = config.logLevel
            return handler
        }
        // A metrics client that hangs up mid-response must not kill the worker.
        signal(SIGPIPE, SIG_IGN)
        let stop = StopFlag()
        let signals = stop.installSignalHandlers()
        defer { signals.forEach { $0.cancel() } }
        try Worker(configuration: config, logger: Logger(label: "drain-worker"), stop: stop).run()
    }
}

// Bad flags are one line on stderr and exit 2, as in drain-admin; --help prints as usual.
do {
    var command = try DrainWorkerCommand.parseAsRoot()
    try command.run()
} catch {
    if DrainWorkerCommand.exitCode(for: error) == .success { DrainWorkerCommand.exit(withError: error) }
    let message = DrainWorkerCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    let line = Array("drain-worker: error: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(2)
}
