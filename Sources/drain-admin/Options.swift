import Foundation
import ArgumentParser
import DrainAdminKit

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

/// Builds the admin for a command and prints what it returns.
func perform(_ connection: ConnectionOptions, _ endpoint: EndpointOptions? = nil,
             _ body: (Admin) throws -> String) throws {
    let admin = Admin(environment: AdminEnvironment(databaseURL: connection.databaseURL, caFile: endpoint?.caFile,
                                                    allowPrivateEndpoints: endpoint?.allowPrivateEndpoints ?? false,
                                                    secretKeysFile: connection.secretKeysFile,
                                                    transactionPooling: connection.transactionPooling))
    print(try body(admin))
    for notice in admin.notices { FileHandle.standardError.write(Data("drain-admin: \(notice)\n".utf8)) }
}
