import Foundation
import ArgumentParser
import DrainAdminKit
import DrainCore

struct ConnectionOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL or conninfo (default: $DATABASE_URL, else libpq's PG* defaults).")
    var databaseURL: String?

    @Option(help: ArgumentHelp("Keys that encrypt drain secrets at rest: one 'KEY_ID BASE64_OF_32_BYTES' a line, the first the current key (default: $DRAIN_SECRET_KEYS_FILE).", valueName: "path"))
    var secretKeysFile: String?

    @Flag(help: "The database URL is a transaction-pooling proxy (pgbouncer pool_mode=transaction); or DRAIN_TRANSACTION_POOLING=1.")
    var transactionPooling = false
}

struct EndpointOptions: ParsableArguments {
    @Option(help: "Extra PEM CA bundle to trust for endpoints (default: $DRAIN_CA_FILE).")
    var caFile: String?

    @Flag(help: "Allow endpoints on loopback, private, link-local and metadata addresses (or DRAIN_ALLOW_PRIVATE_ENDPOINTS=1).")
    var allowPrivateEndpoints = false
}

struct SecretOptions: ParsableArguments {
    @Option(help: "Read the secret from this file (one trailing newline is ignored).")
    var secretFile: String?

    @Option(help: "Read the secret from this environment variable.")
    var secretEnv: String?

    @Flag(help: "Generate a strong random secret and print it once.")
    var generateSecret = false

    func source(required: Bool) throws -> SecretSource? {
        try SecretSource.from(file: secretFile, env: secretEnv, generate: generateSecret, required: required)
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of a table.")
    var json = false
}

extension Role: ExpressibleByArgument {}

/// A drain id (a UUID), checked as the command line is parsed. Parsed by a throwing
/// `transform` rather than `ExpressibleByArgument`, whose failure cannot say why: the error
/// names the field, as every other refusal does.
struct DrainID: CustomStringConvertible {
    let value: String
    init(parsing text: String) throws {
        try Admin.checkDrainID(text)
        value = text
    }
    var description: String { value }
}

extension AdminError {
    /// 2 for a refusal of the input or the actor (validation, permission, conflict, not
    /// found); 1 when the operation could not be carried out (database unreachable, endpoint
    /// test failed).
    var exitCode: ExitCode { isRefusal ? ExitCode(2) : ExitCode(1) }
}

/// The one place `drain-admin` turns flags and the environment into its settings: a flag wins
/// over its variable, and an empty variable counts as unset.
func resolveEnvironment(_ connection: ConnectionOptions, _ endpoint: EndpointOptions?) -> AdminEnvironment {
    let variables = ProcessInfo.processInfo.environment
    func env(_ key: String) -> String? { variables[key].flatMap { $0.isEmpty ? nil : $0 } }
    return AdminEnvironment(databaseURL: connection.databaseURL ?? env("DATABASE_URL") ?? "",
                            caFile: endpoint?.caFile ?? env("DRAIN_CA_FILE"),
                            allowPrivateEndpoints: (endpoint?.allowPrivateEndpoints ?? false) || env("DRAIN_ALLOW_PRIVATE_ENDPOINTS") == "1",
                            secretKeysFile: connection.secretKeysFile ?? env("DRAIN_SECRET_KEYS_FILE"),
                            transactionPooling: connection.transactionPooling || env("DRAIN_TRANSACTION_POOLING") == "1")
}

/// Builds the admin for a command and prints what it returns.
func perform(_ connection: ConnectionOptions, _ endpoint: EndpointOptions? = nil,
             _ body: (Admin) throws -> String) throws {
    let admin = Admin(environment: resolveEnvironment(connection, endpoint))
    print(try body(admin))
    for notice in admin.notices { FileHandle.standardError.write(Data("drain-admin: \(notice)\n".utf8)) }
}
