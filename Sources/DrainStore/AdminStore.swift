import DrainCore
internal import Postgres

/// The operations of `drain-admin` and `serve`, each one SQL function call (sql/002_admin.sql),
/// so that the admin role, validation, the one-enabled-drain rule and the audit trail live in
/// the database. Its connection is its own; errors leave as `StoreError`.
public final class AdminStore {
    private let db: StoreConnection

    private init(db: StoreConnection) { self.db = db }

    /// `setup` runs after every connect (session settings); `namedStatements` is false behind a
    /// transaction pooler.
    public static func connect(url: String, setup: String?, namedStatements: Bool) throws(StoreError) -> AdminStore {
        AdminStore(db: try StoreConnection.open(url: url, setup: setup, namedStatements: namedStatements))
    }

    public func migrate() throws(StoreError) -> [String] { try Migrator.migrate(db) }

    // MARK: accounts and members (the platform operator's)

    public func createAccount(name: String) throws(StoreError) -> Account {
        try db.one(SQL.Accounts.Create(name: name))
    }

    public func accounts() throws(StoreError) -> [Account] {
        try db.execute(SQL.Accounts.List())
    }

    public func accountID(name: String) throws(StoreError) -> Int64? {
        try db.first(SQL.Accounts.IDByName(name: name)) ?? nil
    }

    public func addMember(account: String, email: String, role: String, dbRole: String? = nil) throws(StoreError) {
        try db.execute(SQL.Members.Add(account: account, email: email, role: role, dbRole: dbRole))
    }

    public func members(account: String) throws(StoreError) -> [Member] {
        try db.execute(SQL.Members.List(account: account))
    }

    // MARK: sign-in tokens and dashboard sessions (§6)

    /// Stores a token's lookup key and hash for a member; returns when it was created.
    public func createToken(account: String, email: String, lookupKey: String, hash: String) throws(StoreError) -> String {
        try db.one(SQL.Tokens.Create(account: account, email: email, lookupKey: lookupKey, hash: hash))
    }

    public func revokeTokens(account: String, email: String) throws(StoreError) -> Int {
        try db.one(SQL.Tokens.Revoke(account: account, email: email))
    }

    public func tokenCandidate(lookupKey: String) throws(StoreError) -> TokenCandidate? {
        try db.first(SQL.Tokens.Lookup(lookupKey: lookupKey))
    }

    public func markTokenUsed(_ tokenID: Int64) throws(StoreError) { try db.execute(SQL.Tokens.Used(tokenID: tokenID)) }

    /// False when the token is gone (revoked since it was checked).
    public func createSession(tokenID: Int64, sessionHash: String, csrf: String, seconds: Int) throws(StoreError) -> Bool {
        try db.first(SQL.Tokens.CreateSession(tokenID: tokenID, sessionHash: sessionHash, csrf: csrf, seconds: seconds)) ?? false
    }

    public func session(hash: String) throws(StoreError) -> (member: SignedInMember, csrf: String)? {
        try db.first(SQL.Tokens.Session(sessionHash: hash))
    }

    public func deleteSession(hash: String) throws(StoreError) { try db.execute(SQL.Tokens.DeleteSession(sessionHash: hash)) }

    // MARK: drains (the account admins')

    /// Refuses (as the write would) before anything is sent to an endpoint: the actor must be
    /// an admin of the account, and enabling must not make a second enabled drain.
    public func precheck(account: String, actor: String, enabling: Bool) throws(StoreError) {
        try db.execute(SQL.Drains.PrecheckAccount(account: account, actor: actor, enabling: enabling))
    }

    /// Checks the actor against the drain's account; returns the account's name.
    @discardableResult
    public func precheck(drainID: String, actor: String) throws(StoreError) -> String {
        try db.one(SQL.Drains.PrecheckDrain(id: drainID, actor: actor))
    }

    public func createDrain(_ d: NewDrain) throws(StoreError) -> String {
        try db.one(SQL.Drains.Create(drain: d))
    }

    public func updateDrain(id: String, actor: String, change: DrainChange) throws(StoreError) {
        try db.execute(SQL.Drains.Update(id: id, actor: actor, change: change))
    }

    public func enableDrain(id: String, actor: String, skipBacklog: Bool) throws(StoreError) {
        try db.execute(SQL.Drains.Enable(id: id, actor: actor, skipBacklog: skipBacklog))
    }

    public func disableDrain(id: String, actor: String) throws(StoreError) {
        try db.execute(SQL.Drains.Disable(id: id, actor: actor))
    }

    public func deleteDrain(id: String, actor: String) throws(StoreError) {
        try db.execute(SQL.Drains.Delete(id: id, actor: actor))
    }

    /// The endpoint and secret of a saved drain, for `drain-admin test DRAIN_ID`.
    public func endpoint(drainID: String) throws(StoreError) -> (url: String, secret: String)? {
        try db.first(SQL.Drains.Endpoint(id: drainID))
    }

    /// Every drain's stored secret (encrypted or not), for `rotate-secrets`.
    public func storedSecrets() throws(StoreError) -> [(id: String, secret: String)] {
        try db.execute(SQL.Drains.AllSecrets())
    }

    /// Replaces a stored secret with its re-encryption, only while it is still `old`.
    public func replaceSecret(drainID: String, old: String, new: String) throws(StoreError) -> Bool {
        try db.first(SQL.Drains.ReplaceSecret(id: drainID, old: old, new: new)) ?? false
    }

    public func drain(id: String) throws(StoreError) -> DrainStatus? {
        try db.first(SQL.Drains.Show(id: id))
    }

    public func drains(account: String?) throws(StoreError) -> [DrainStatus] {
        if let account { return try db.execute(SQL.Drains.ListAccount(account: account)) }
        return try db.execute(SQL.Drains.ListAll())
    }

    public func recentAttempts(drainID: String) throws(StoreError) -> [RecentAttempt] {
        try db.execute(SQL.Drains.RecentAttempts(id: drainID))
    }

    public func audit(account: String) throws(StoreError) -> [AuditEvent] {
        try db.execute(SQL.Audit.List(account: account))
    }

    /// Workers whose heartbeat is younger than `within` seconds.
    public func workers(within: Double = 60) throws(StoreError) -> [WorkerInfo] {
        try db.execute(SQL.Workers.List(withinSeconds: within))
    }

    /// Partitions ahead, retention behind, and forgetting long-dead workers; given settings are
    /// saved for the workers' hourly runs too.
    public func maintain(daysAhead: Int?, retentionDays: Int?) throws(StoreError) -> MaintenanceRun {
        try db.one(SQL.Maintenance.Run(daysAhead: daysAhead, retentionDays: retentionDays, by: "drain-admin"))
    }

    // MARK: ingest

    /// Streams lines into `logs` through COPY in one transaction: if `lines` throws (a bad line),
    /// the COPY is aborted, nothing is ingested, and that error is rethrown. Returns the number
    /// of rows.
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
}
