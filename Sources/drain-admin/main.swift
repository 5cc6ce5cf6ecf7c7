import ArgumentParser
import DrainAdminKit
#if canImport(Glibc)
import Glibc
#endif

struct DrainAdmin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain-admin",
        abstract: "Administer LogDrain: schema, accounts, members, drains, ingest and status.",
        discussion: """
            Drain commands act for an account admin named with --as EMAIL; the database checks \
            the role and records every change in the audit trail. Exit status: 0 on success, \
            1 when the operation could not be done (database unreachable, endpoint test \
            failed), 2 for bad input or a refusal (validation, permission, conflict).
            """,
        subcommands: [MigrateCommand.self, AccountCommand.self, MemberCommand.self, CreateCommand.self,
                      ListCommand.self, ShowCommand.self, UpdateCommand.self, EnableCommand.self,
                      DisableCommand.self, TestCommand.self, DeleteCommand.self, IngestCommand.self,
                      WorkersCommand.self, AuditCommand.self, MaintainCommand.self, RotateSecretsCommand.self,
                      SealSecretCommand.self, TokenCommand.self, ServeCommand.self])
}

// Errors are one line on stderr naming the problem; help and --version print as usual.
do {
    var command = try DrainAdmin.parseAsRoot()
    if let serve = command as? ServeCommand {
        try await serve.run()
    } else {
        try command.run()
    }
} catch {
    let code = DrainAdmin.exitCode(for: error)
    if code == .success || error is CleanExit {
        DrainAdmin.exit(withError: error)
    }
    let message: String
    let status: Int32
    if error is AdminError || !(String(reflecting: type(of: error)).contains("ArgumentParser")) {
        let e = AdminError.from(error)
        message = e.message
        status = e.exitCode
    } else {
        message = DrainAdmin.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        status = 2
    }
    let line = Array("drain-admin: error: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(status)
}
