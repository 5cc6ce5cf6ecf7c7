import Delivery
import DrainCore
import DrainStore
import Foundation

/// Connection and endpoint settings every command shares.
public struct AdminEnvironment: Sendable {
    public var databaseURL: String
    public var caFile: String?
    public var allowPrivateEndpoints: Bool
    /// `--secret-keys-file` or `DRAIN_SECRET_KEYS_FILE` (§5); nil: secrets stored as given.
    public var secretKeysFile: String?
    /// SQL run on every (re)connect, e.g. the server's `SET statement_timeout`.
    public var sessionSetup: String?
    /// `--transaction-pooling` or `DRAIN_TRANSACTION_POOLING=1`: the database URL is a
    /// transaction-pooling proxy (pgbouncer); no session settings are made.
    public var transactionPooling: Bool

    /// Values as resolved by the executable (flags over environment variables); an empty
    /// `databaseURL` means libpq's own defaults.
    public init(databaseURL: String, caFile: String?, allowPrivateEndpoints: Bool, secretKeysFile: String?,
                transactionPooling: Bool) {
        self.databaseURL = databaseURL
        self.caFile = caFile
        self.allowPrivateEndpoints = allowPrivateEndpoints
        self.secretKeysFile = secretKeysFile
        self.transactionPooling = transactionPooling
    }
}

/// The operations behind `drain-admin`'s commands. Each returns what to print on stdout.
public final class Admin {
    let environment: AdminEnvironment
    private var storeCache: AdminStore?
    private var keysCache: SecretKeys?
    private var keysStamp: String?
    /// Lines for stderr once the command succeeded (e.g. that a secret went unencrypted).
    public var notices: [String] = []

    public init(environment: AdminEnvironment) { self.environment = environment }

    /// The secret keys, loaded on first use and again whenever the file changes (a long-running
    /// `serve` picks up a new current key without a restart); nil without a keys file.
    var secretKeys: SecretKeys? {
        get throws {
            guard let path = environment.secretKeysFile else { return nil }
            let stamp = Self.modificationStamp(path)
            if let keysCache, keysStamp == stamp { return keysCache }
            let keys = try SecretKeys.load(path: path)
            keysCache = .some(keys)
            keysStamp = stamp
            return keys
        }
    }

    /// Loads the keys file now (if there is one), so a server fails at start rather than on a request.
    public func checkSecretKeys() throws { _ = try secretKeys }

    private static func modificationStamp(_ path: String) -> String? {
        // Resolved first: a Kubernetes Secret volume swaps a symlink, whose own dates never change.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) else { return nil }
        return "\(resolved)/\(attributes[.modificationDate] ?? "")/\(attributes[.size] ?? "")"
    }

    /// What goes to the database for `secret`: sealed under the current key, or (without a
    /// keys file) the secret itself, which the command then says on stderr.
    func storedForm(of secret: String) throws -> String {
        if let keys = try secretKeys { return keys.seal(secret) }
        let notice = "note: no secret keys file (--secret-keys-file or DRAIN_SECRET_KEYS_FILE): the secret is stored unencrypted"
        if !notices.contains(notice) { notices.append(notice) }
        return secret
    }

    /// The plaintext of a stored secret.
    func plaintext(of stored: String) throws -> String {
        do {
            return try SecretKeys.open(stored, with: try secretKeys)
        } catch let error as SecretKeys.OpenError {
            throw AdminError(error.description, kind: .failed)
        }
    }

    var store: AdminStore {
        get throws {
            if let storeCache { return storeCache }
            let s = try AdminStore.connect(url: environment.databaseURL,
                                           setup: environment.transactionPooling ? nil : environment.sessionSetup,
                                           namedStatements: !environment.transactionPooling)
            storeCache = s
            return s
        }
    }

    // MARK: schema

    /// The migrations this run applied (none when up to date) and the schema's version after it.
    public func migrate() throws -> (applied: [String], current: String) {
        let applied = try store.migrate()
        return (applied, Migrator.versions.last ?? "none")
    }

    /// Upkeep now; given settings are saved (the workers' hourly runs use them too).
    public func maintain(daysAhead: Int?, retentionDays: Int?) throws -> MaintenanceRun {
        if let daysAhead, !(1...366).contains(daysAhead) { throw AdminError("days-ahead: must be between 1 and 366 (got \(daysAhead))") }
        if let retentionDays, !(1...3650).contains(retentionDays) {
            throw AdminError("retention-days: must be between 1 and 3650 (got \(retentionDays))")
        }
        return try store.maintain(daysAhead: daysAhead, retentionDays: retentionDays)
    }

    // MARK: accounts and members

    public func createAccount(name: String) throws -> Account {
        try Validate.accountName(name)
        return try store.createAccount(name: name)
    }

    public func accounts() throws -> [Account] { try store.accounts() }

    public func addMember(account: String, email: String, role: Role, dbRole: String? = nil) throws {
        try Validate.email(email)
        if let dbRole, dbRole.isEmpty || dbRole.count > 63 {
            throw AdminError("db-role: must be the name of a login role (1-63 characters)")
        }
        try store.addMember(account: account, email: email, role: role.rawValue, dbRole: dbRole)
    }

    public func members(account: String) throws -> [Member] { try store.members(account: account) }

    // MARK: endpoint test sends

    func endpointClient() -> EndpointClient {
        EndpointClient(caFile: environment.caFile, allowPrivate: environment.allowPrivateEndpoints)
    }

    /// Sends one signed test line; throws (exit 1) unless the endpoint answers 2xx. Callers
    /// run EndpointGuard first; the HTTP client re-checks the address it connects to.
    func testSend(url: String, secret: String) throws -> String {
        let report = TestSend.send(url: url, secret: secret, client: endpointClient(),
                                   timestamp: Self.nowTimestamp(), deliveryID: UUID().uuidString.lowercased())
        guard report.ok else { throw AdminError(report.summary, kind: .endpointTest) }
        return report.summary
    }

    public func test(drainID: String?, url: String?, secret: SecretSource?) throws -> String {
        if let drainID {
            guard url == nil, secret == nil else { throw AdminError("test: give a DRAIN_ID or --url with a secret, not both") }
            return try testEdited(drainID: drainID, url: nil, secret: nil)
        }
        guard let url else { throw AdminError("test: give a DRAIN_ID, or --url URL with --secret-file or --secret-env") }
        guard let secret else { throw AdminError("secret: required with --url: give --secret-file PATH or --secret-env VAR") }
        if secret.isGenerated { throw AdminError("secret: --generate-secret makes no sense for a test; give --secret-file or --secret-env") }
        try EndpointGuard.check(url: url, allowPrivate: environment.allowPrivateEndpoints)
        return try testSend(url: url, secret: try secret.read())
    }

    /// A test send for a saved drain, or for one being edited: the saved URL or secret stands in
    /// for whichever is not given (the dashboard's Test while editing).
    public func testEdited(drainID: String, url: String?, secret: SecretSource?) throws -> String {
        try Self.checkDrainID(drainID)
        guard let saved = try store.endpoint(drainID: drainID) else { throw AdminError("drain: no drain with id \(drainID)", kind: .notFound) }
        let target = url ?? saved.url
        try EndpointGuard.check(url: target, allowPrivate: environment.allowPrivateEndpoints)
        return try testSend(url: target, secret: try secret?.read() ?? plaintext(of: saved.secret))
    }

    // MARK: secrets at rest

    /// Re-encrypts every drain secret under the current key (§5), while workers run: each is a
    /// compare-and-swap, so a secret an admin changes meanwhile is left as the admin wrote it.
    public func rotateSecrets() throws -> String {
        guard let keys = try secretKeys else {
            throw AdminError("secret-keys-file: rotate-secrets needs the keys file (--secret-keys-file or DRAIN_SECRET_KEYS_FILE)")
        }
        var rotated = 0, current = 0, changed = 0
        var unreadable: [String] = []
        for (id, stored) in try store.storedSecrets() {
            if SecretKeys.keyID(of: stored) == keys.current.id { current += 1; continue }
            let plain: String
            do { plain = try keys.open(stored) } catch { unreadable.append("\(id): \(error)"); continue }
            if try store.replaceSecret(drainID: id, old: stored, new: keys.seal(plain)) { rotated += 1 } else { changed += 1 }
        }
        let summary = "re-encrypted \(rotated) secrets under key \(keys.current.id); \(current) already under it"
            + (changed > 0 ? "; \(changed) changed meanwhile (left as the admin wrote them)" : "")
        guard unreadable.isEmpty else {
            throw AdminError("\(summary); \(unreadable.count) could not be decrypted: \(unreadable.joined(separator: "; "))", kind: .failed)
        }
        return summary
    }

    /// The stored form of a secret, for psql users who call `drain_create`/`drain_update`
    /// themselves: the plaintext stays on this machine; only the sealed text goes to SQL.
    public func sealSecret(_ source: SecretSource) throws -> String {
        guard let keys = try secretKeys else {
            throw AdminError("secret-keys-file: seal-secret needs the keys file (--secret-keys-file or DRAIN_SECRET_KEYS_FILE)")
        }
        if source.isGenerated { throw AdminError("secret: --generate-secret makes no sense here; give --secret-file or --secret-env") }
        let secret = try source.read()
        try Validate.secret(secret)
        return keys.seal(secret)
    }

    static func nowTimestamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return f.string(from: Date())
    }

    /// Refuses (naming the field) a drain id that is not a UUID, before anything is looked up.
    public static func checkDrainID(_ id: String) throws {
        guard UUID(uuidString: id) != nil else { throw AdminError("drain: \(JSONString.encode(id)) is not a drain id (a UUID)", kind: .notFound) }
    }
}
