import ArgumentParser
import DrainAdminKit
import DrainCore

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a log drain for an account.",
        discussion: """
            Checks every field, then sends one signed test line to the endpoint and saves the \
            drain only if it answers 2xx (skip with --skip-test). Only one drain per account can \
            be enabled. The secret signs every delivery (X-Fal-Signature, HMAC-SHA256); it is \
            never taken on the command line and never shown again, except that \
            --generate-secret prints the new secret once.

            Example:
              drain-admin create acme --as ops@acme.example --name "Production Datadog" \\
                --url 'https://http-intake.logs.datadoghq.com/api/v2/logs?dd-api-key=...' \\
                --secret-file ./drain.secret
            """)
    @Argument(help: "Account name.") var account: String
    @Option(name: .customLong("as"), help: "Email of the acting admin of the account.") var actor: String
    @Option(help: "A label, 1-100 characters.") var name: String
    @Option(help: "The endpoint: an https:// URL with a host; path and query are kept.") var url: String
    @OptionGroup var secret: SecretOptions
    @Option(help: "Most lines per delivery batch, \(Limits.samplingRates.lowerBound)-\(Limits.maxSamplingRate).") var samplingRate: Int = Limits.defaultSamplingRate
    @Flag(help: "Save without sending a test line.") var skipTest = false
    @Flag(help: "Create the drain disabled (reason: manual).") var disabled = false
    @OptionGroup var output: OutputOptions
    @OptionGroup var endpoint: EndpointOptions
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let source = try secret.source(required: true)!
        try perform(connection, endpoint) {
            render(try $0.createDrain(CreateRequest(account: account, actor: actor, name: name, url: url, secret: source,
                                                    samplingRate: samplingRate, skipTest: skipTest, disabled: disabled)),
                   json: output.json)
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List drains with their status.",
        discussion: """
            Shows enabled/disabled and why, consecutive failures, last successful delivery and \
            lag (age of the oldest line not yet delivered). URLs are redacted.

            Example: drain-admin list acme --json
            """)
    @Argument(help: "Only this account's drains.") var account: String?
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { render(try $0.drains(account: account), json: output.json) } }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one drain, its status and recent delivery attempts.",
        discussion: "Example: drain-admin show 3f1c...-... --json")
    @Argument(help: "The drain's id.", transform: DrainID.init(parsing:)) var drainID: DrainID
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions
    func run() throws {
        try perform(connection) {
            let detail = try $0.drainDetail(id: drainID.value, attempts: !output.json)
            return render(detail.drain, attempts: detail.attempts, json: output.json)
        }
    }
}

struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change a drain's name, URL, sampling rate or secret.",
        discussion: """
            A new URL is tested with a signed line first and saved only on 2xx (--skip-test \
            skips it). A batch being retried keeps its body and delivery id and goes to the new \
            URL with the new signature.

            Example: drain-admin update 3f1c... --as ops@acme.example --sampling-rate 500
            """)
    @Argument(help: "The drain's id.", transform: DrainID.init(parsing:)) var drainID: DrainID
    @Option(name: .customLong("as"), help: "Email of the acting admin of the account.") var actor: String
    @Option(help: "A new label, 1-100 characters.") var name: String?
    @Option(help: "A new https:// endpoint URL.") var url: String?
    @Option(help: "Most lines per batch, \(Limits.samplingRates.lowerBound)-\(Limits.maxSamplingRate).") var samplingRate: Int?
    @OptionGroup var secret: SecretOptions
    @Flag(help: "Save a new URL without sending a test line.") var skipTest = false
    @OptionGroup var endpoint: EndpointOptions
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let source = try secret.source(required: false)
        try perform(connection, endpoint) {
            render(try $0.changeDrain(id: drainID.value, actor: actor,
                                      change: DrainChange(name: name, url: url, samplingRate: samplingRate),
                                      secret: source, skipTest: skipTest))
        }
    }
}

struct EnableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable", abstract: "Enable a drain (for instance after it was disabled by failures).",
        discussion: """
            Resets the failure counter and resumes from where delivery stopped, so lines that \
            arrived meanwhile are delivered. --skip-backlog instead starts from the last \(Limits.recentWindowSeconds) \
            seconds and drops any pending batch. Refused while another drain of the account is \
            enabled.

            Example: drain-admin enable 3f1c... --as ops@acme.example
            """)
    @Argument(help: "The drain's id.", transform: DrainID.init(parsing:)) var drainID: DrainID
    @Option(name: .customLong("as"), help: "Email of the acting admin of the account.") var actor: String
    @Flag(help: "Deliver only from the last \(Limits.recentWindowSeconds) seconds on; drop the backlog.") var skipBacklog = false
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) {
            try $0.enableDrain(id: drainID.value, actor: actor, skipBacklog: skipBacklog)
            return skipBacklog ? "enabled drain \(drainID); delivering from the last \(Limits.recentWindowSeconds) seconds (backlog skipped)"
                               : "enabled drain \(drainID); resuming from where it stopped"
        } }
}

struct DisableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable", abstract: "Disable a drain (reason: manual). Its cursor is kept.",
        discussion: "Example: drain-admin disable 3f1c... --as ops@acme.example")
    @Argument(help: "The drain's id.", transform: DrainID.init(parsing:)) var drainID: DrainID
    @Option(name: .customLong("as"), help: "Email of the acting admin of the account.") var actor: String
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { try $0.disableDrain(id: drainID.value, actor: actor); return "disabled drain \(drainID)" } }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a drain and its delivery history (audited).",
        discussion: "Example: drain-admin delete 3f1c... --as ops@acme.example")
    @Argument(help: "The drain's id.", transform: DrainID.init(parsing:)) var drainID: DrainID
    @Option(name: .customLong("as"), help: "Email of the acting admin of the account.") var actor: String
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { try $0.deleteDrain(id: drainID.value, actor: actor); return "deleted drain \(drainID)" } }
}

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Send a signed test line to a saved drain or to an unsaved URL.",
        discussion: """
            Exits 0 on a 2xx answer and prints the status and latency; otherwise prints the \
            status or the DNS/connect/TLS/timeout error and exits 1. Changes no drain state.

            Examples:
              drain-admin test 3f1c...
              drain-admin test --url https://logs.example.com/intake --secret-file ./drain.secret
            """)
    @Argument(help: "The drain's id.", transform: DrainID.init(parsing:)) var drainID: DrainID?
    @Option(help: "An https:// endpoint to test instead of a saved drain.") var url: String?
    @OptionGroup var secret: SecretOptions
    @OptionGroup var endpoint: EndpointOptions
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let source = try secret.source(required: false)
        try perform(connection, endpoint) { try $0.test(drainID: drainID?.value, url: url, secret: source) }
    }
}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Load NDJSON log lines into the logs table for an account.",
        discussion: """
            Each line is a JSON object in the wire format: timestamp (RFC 3339), message and \
            level are required; fal_* fields are optional; all values are strings. Blank lines \
            are ignored. Atomic: a bad line is reported by its number and nothing is ingested.

            Example: drain-admin ingest acme app.ndjson
            """)
    @Argument(help: "Account name.") var account: String
    @Argument(help: "NDJSON file (default: standard input).") var file: String?
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { "ingested \(try $0.ingest(account: account, path: file)) lines into account \(account)" } }
}

struct WorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers", abstract: "List live workers (heartbeat within the last minute).",
        discussion: "Example: drain-admin workers --json")
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { render(try $0.workers(), json: output.json) } }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "List an account's audit trail (who changed what; secrets redacted).",
        discussion: "Example: drain-admin audit acme --json")
    @Argument(help: "Account name.") var account: String
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { render(try $0.audit(account: account), json: output.json) } }
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the database schema.",
        discussion: """
            Applies each embedded migration once, in order, under an advisory lock: safe to run \
            repeatedly and concurrently. Also creates the coming days' log partitions.

            Example: DATABASE_URL=postgresql://... drain-admin migrate
            """)
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) {
            let (applied, current) = try $0.migrate()
            return applied.isEmpty ? "schema is up to date (\(current))" : "applied migrations: \(applied.joined(separator: ", "))"
        } }
}

struct MaintainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintain", abstract: "Create log partitions ahead and drop those past retention.",
        discussion: """
            The workers run the same upkeep every hour (one at a time); this runs it now. Given \
            settings are saved in the database, so the workers' runs keep to them. Dropping a \
            day's partition discards its lines even where a disabled drain has not delivered \
            them; `show` then names the gap.

            Example: drain-admin maintain --days-ahead 7 --retention-days 14
            """)
    @Option(help: "Days of partitions to keep ready ahead of today (saved; initially 7).") var daysAhead: Int?
    @Option(help: "Days of logs to keep (saved; initially 7).") var retentionDays: Int?
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { render(try $0.maintain(daysAhead: daysAhead, retentionDays: retentionDays)) } }
}

struct RotateSecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-secrets", abstract: "Re-encrypt every drain secret under the current key.",
        discussion: """
            Put the new key on the first line of the keys file (keep the old ones below it), \
            give the file to every worker, then run this: each secret is decrypted with whichever \
            key it names and re-encrypted under the first, while workers keep delivering. Secrets \
            stored unencrypted (before keys were configured) are encrypted too. Once it reports \
            nothing left under an old key, that key can go from the file.

            Example: drain-admin rotate-secrets --secret-keys-file /etc/logdrain/keys
            """)
    @OptionGroup var connection: ConnectionOptions
    func run() throws { try perform(connection) { try $0.rotateSecrets() } }
}

struct SealSecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal-secret", abstract: "Print a secret encrypted under the current key, for SQL.",
        discussion: """
            For psql users who call the SQL functions themselves: the plaintext never leaves \
            this machine; pass the printed text as the secret argument of drain_create or \
            drain_update. Needs no database.

            Example:
              drain-admin seal-secret --secret-file drain.secret --secret-keys-file /etc/logdrain/keys
            """)
    @OptionGroup var secret: SecretOptions
    @OptionGroup var connection: ConnectionOptions
    func run() throws {
        guard let source = try secret.source(required: true) else { return }
        try perform(connection) { try $0.sealSecret(source) }
    }
}
