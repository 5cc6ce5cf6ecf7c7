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

/// One line on stderr naming the problem, then the exit status.
func fail(_ message: String, _ code: ExitCode) -> Never {
    let line = Array("drain-admin: error: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(code.rawValue)
}

// Parsing (flags, arguments, each command's validate()) fails with ArgumentParser's own
// message and exit 2; help and --version print as usual. Running fails with the operation's
// error, mapped through AdminError to its exit status.
let command: ParsableCommand
do {
    command = try DrainAdmin.parseAsRoot()
} catch {
    if DrainAdmin.exitCode(for: error) == .success { DrainAdmin.exit(withError: error) }
    fail(DrainAdmin.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments", ExitCode(2))
}
do {
    var command = command
    if let serve = command as? ServeCommand {
        try await serve.run()
    } else {
        try command.run()
    }
} catch where DrainAdmin.exitCode(for: error) == .success {
    // `--help` (ArgumentParser answers it by running its help command) and clean exits.
    DrainAdmin.exit(withError: error)
} catch let exit as ExitCode {
    DrainAdmin.exit(withError: exit)
} catch let invalid as ValidationError {
    fail(invalid.message, ExitCode(2))
} catch {
    let e = AdminError.from(error)
    fail(e.message, e.exitCode)
}
