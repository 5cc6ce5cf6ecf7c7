import DrainCore
import Postgres

/// The operations of `drain-admin`, each one SQL function call (sql/002_admin.sql), so that the
/// admin role, validation, the one-enabled-drain rule and the audit trail live in the database.
public final class AdminStore {
    public let db: PostgresConnection

    public init(db: PostgresConnection) { self.db = db }

    public func migrate() throws -> [String] { try Migrator.migrate(db) }

    // MARK: accounts and members (the platform operator's)

    public func createAccount(name: String) throws -> Account {
        let row = try db.query(SQL.Accounts.create, [name]).rows[0]
        return Self.account(row)
    }

    public func accounts() throws -> [Account] {
        try db.query(SQL.Accounts.list).rows.map(Self.account)
    }

    public func accountID(name: String) throws -> Int64? {
        try db.query(SQL.Accounts.idByName, [name]).rows.first?.int64("id")
    }

    public func addMember(account: String, email: String, role: String, dbRole: String? = nil) throws {
        try db.query(SQL.Members.add, [account, email, role, dbRole])
    }

    public func members(account: String) throws -> [Member] {
        try db.query(SQL.Members.list, [account]).rows.map {
            Member(email: $0.requiredString("email"), role: $0.requiredString("role"), createdAt: $0.requiredString("created_at"),
                   dbRole: $0.string("db_role"))
        }
    }

    // MARK: sign-in tokens and dashboard sessions (§6)

    /// Stores a token's lookup key and hash for a member; returns when it was created.
    public func createToken(account: String, email: String, lookupKey: String, hash: String) throws -> String {
        try db.query(SQL.Tokens.create, [account, email, lookupKey, hash]).rows[0].requiredString("created_at")
    }

    public func revokeTokens(account: String, email: String) throws -> Int {
        try db.query(SQL.Tokens.revoke, [account, email]).rows[0].int("revoked") ?? 0
    }

    /// The token row behind a lookup key; `stale` says its last use is worth recording.
    public func tokenCandidate(lookupKey: String) throws -> (tokenID: Int64, hash: String, member: SignedInMember, stale: Bool)? {
        guard let r = try db.query(SQL.Tokens.lookup, [lookupKey]).rows.first else { return nil }
        return (r.int64("token_id") ?? 0, r.requiredString("token_hash"), Self.member(r), r.bool("stale") ?? true)
    }

    public func markTokenUsed(_ tokenID: Int64) throws { try db.query(SQL.Tokens.used, [tokenID]) }

    /// False when the token is gone (revoked since it was checked).
    public func createSession(tokenID: Int64, sessionHash: String, csrf: String, seconds: Int) throws -> Bool {
        try db.query(SQL.Tokens.createSession, [tokenID, sessionHash, csrf, seconds]).rows.first?.bool("created") ?? false
    }

    public func session(hash: String) throws -> (member: SignedInMember, csrf: String)? {
        guard let r = try db.query(SQL.Tokens.session, [hash]).rows.first else { return nil }
        return (Self.member(r), r.requiredString("csrf_token"))
    }

    public func deleteSession(hash: String) throws { try db.query(SQL.Tokens.deleteSession, [hash]) }

    static func member(_ r: PostgresRow) -> SignedInMember {
        SignedInMember(tokenID: r.int64("token_id") ?? 0, account: r.requiredString("account"),
                       email: r.requiredString("email"), role: r.requiredString("role"))
    }

    // MARK: drains (the account admins')

    /// Refuses (as the write would) before anything is sent to an endpoint: the actor must be
    /// an admin of the account, and enabling must not make a second enabled drain.
    public func precheck(account: String, actor: String, enabling: Bool) throws {
        try db.query(SQL.Drains.precheckAccount, [account, actor, enabling])
    }

    /// Checks the actor against the drain's account; returns the account's name.
    @discardableResult
    public func precheck(drainID: String, actor: String) throws -> String {
        try db.query(SQL.Drains.precheckDrain, [drainID, actor]).rows[0].requiredString("account")
    }

    public func createDrain(_ d: NewDrain) throws -> String {
        try db.query(SQL.Drains.create, [d.account, d.actor, d.name, d.url, d.secret, d.samplingRate, d.enabled])
            .rows[0].requiredString("id")
    }

    public func updateDrain(id: String, actor: String, change: DrainChange) throws {
        try db.query(SQL.Drains.update, [id, actor, change.name, change.url, change.samplingRate, change.secret])
    }

    public func enableDrain(id: String, actor: String, skipBacklog: Bool) throws {
        try db.query(SQL.Drains.enable, [id, actor, skipBacklog])
    }

    public func disableDrain(id: String, actor: String) throws {
        try db.query(SQL.Drains.disable, [id, actor])
    }

    public func deleteDrain(id: String, actor: String) throws {
        try db.query(SQL.Drains.delete, [id, actor])
    }

    /// The endpoint and secret of a saved drain, for `drain-admin test DRAIN_ID`.
    public func endpoint(drainID: String) throws -> (url: String, secret: String)? {
        guard let row = try db.query(SQL.Drains.secretAndURL, [drainID]).rows.first else { return nil }
        return (row.requiredString("url"), row.requiredString("secret"))
    }

    /// Every drain's stored secret (encrypted or not), for `rotate-secrets`.
    public func storedSecrets() throws -> [(id: String, secret: String)] {
        try db.query(SQL.Drains.allSecrets).rows.map { ($0.requiredString("id"), $0.requiredString("secret")) }
    }

    /// Replaces a stored secret with its re-encryption, only while it is still `old`.
    public func replaceSecret(drainID: String, old: String, new: String) throws -> Bool {
        try db.query(SQL.Drains.replaceSecret, [drainID, old, new]).rows.first?.bool("replaced") ?? false
    }

    public func drain(id: String) throws -> DrainStatus? {
        try db.query(SQL.Drains.show, [id]).rows.first.map(Self.status)
    }

    public func drains(account: String?) throws -> [DrainStatus] {
        let result = try account.map { try db.query(SQL.Drains.listAccount, [$0]) } ?? db.query(SQL.Drains.listAll)
        return result.rows.map(Self.status)
    }

    public func recentAttempts(drainID: String) throws -> [DeliveryAttempt] {
        try db.query(SQL.Drains.recentAttempts, [drainID]).rows.map {
            DeliveryAttempt(deliveryID: $0.string("delivery_id"), attempt: $0.int("attempt") ?? 0,
                            lines: $0.int("lines") ?? 0, bytes: $0.int("bytes") ?? 0, status: $0.int("status"),
                            error: $0.string("error"), durationMs: $0.int("duration_ms"),
                            worker: $0.string("worker"), at: $0.requiredString("at"))
        }
    }

    public func audit(account: String) throws -> [AuditEvent] {
        try db.query(SQL.Audit.list, [account]).rows.map {
            AuditEvent(id: $0.int64("id") ?? 0, actor: $0.requiredString("actor"), action: $0.requiredString("action"),
                       drainID: $0.string("drain_id"), before: $0.string("before"), after: $0.string("after"),
                       at: $0.requiredString("at"))
        }
    }

    /// Workers whose heartbeat is younger than `within` seconds.
    public func workers(within: Double = 60) throws -> [WorkerInfo] {
        try db.query(SQL.Workers.list, [within]).rows.map {
            WorkerInfo(name: $0.requiredString("name"), host: $0.requiredString("host"), pid: $0.int("pid") ?? 0,
                       startedAt: $0.requiredString("started_at"), heartbeatAt: $0.requiredString("heartbeat_at"),
                       inFlight: $0.int("in_flight") ?? 0)
        }
    }

    /// Partitions ahead, retention behind, and forgetting long-dead workers; given settings are
    /// saved for the workers' hourly runs too.
    public func maintain(daysAhead: Int?, retentionDays: Int?) throws -> MaintenanceRun {
        let r = try db.query(SQL.Maintenance.run, [daysAhead, retentionDays, "drain-admin"]).rows[0]
        return MaintenanceRun(r)
    }

    // MARK: ingest

    /// Streams lines into `logs` through COPY in one transaction: if `lines` throws (a bad line),
    /// the COPY is aborted and nothing is ingested. Returns the number of rows.
    public func ingest(accountID: Int64, lines: (_ emit: (IngestLine) throws -> Void) throws -> Void) throws -> Int {
        let account = String(accountID)
        return try db.copyIn(SQL.Ingest.copy) { writer in
            try lines { line in
                var row: [String?] = [account]
                row.append(contentsOf: line.values)
                try writer.writeRow(row)
            }
        }
    }

    static func account(_ row: PostgresRow) -> Account {
        Account(id: row.int64("id") ?? 0, name: row.requiredString("name"), createdAt: row.requiredString("created_at"))
    }

    static func status(_ r: PostgresRow) -> DrainStatus {
        DrainStatus(id: r.requiredString("id"), account: r.requiredString("account"), name: r.requiredString("name"),
                    url: r.requiredString("url"), enabled: r.bool("enabled") ?? false,
                    disabledReason: r.string("disabled_reason"), samplingRate: r.int("sampling_rate") ?? 0,
                    consecutiveFailures: r.int("consecutive_failures") ?? 0,
                    lastSuccessAt: r.string("last_success_at"), lastFailureAt: r.string("last_failure_at"),
                    lastError: r.string("last_error"), createdAt: r.requiredString("created_at"),
                    deliveredLines: r.int64("delivered_lines") ?? 0, lagSeconds: r.double("lag_seconds"),
                    pendingDeliveryID: r.string("pending_delivery_id"), pendingAttempts: r.int("pending_attempts") ?? 0,
                    pendingLines: r.int("pending_lines"), leaseOwner: r.string("lease_owner"),
                    gapLines: r.int64("gap_lines") ?? 0, lastGapAt: r.string("last_gap_at"))
    }
}
