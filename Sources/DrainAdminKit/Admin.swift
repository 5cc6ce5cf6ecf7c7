import Delivery
import DrainCore
import DrainStore
import Foundation
import HTTPClient
import Postgres

/// Connection and endpoint settings every command shares.
public struct AdminEnvironment: Sendable {
    public var databaseURL: String
    public var caFile: String?
    public var allowPrivateEndpoints: Bool

    public init(databaseURL: String?, caFile: String?, allowPrivateEndpoints: Bool) {
        let env = ProcessInfo.processInfo.environment
        self.databaseURL = databaseURL ?? env["DATABASE_URL"] ?? ""
        self.caFile = caFile ?? env["DRAIN_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        self.allowPrivateEndpoints = allowPrivateEndpoints || env["DRAIN_ALLOW_PRIVATE_ENDPOINTS"] == "1"
    }
}

/// The operations behind `drain-admin`'s commands. Each returns what to print on stdout.
public final class Admin {
    let environment: AdminEnvironment
    private var storeCache: AdminStore?

    public init(environment: AdminEnvironment) { self.environment = environment }

    var store: AdminStore {
        get throws {
            if let storeCache { return storeCache }
            let s = AdminStore(db: try PostgresConnection(conninfo: environment.databaseURL))
            storeCache = s
            return s
        }
    }

    // MARK: schema

    public func migrate() throws -> String {
        let applied = try store.migrate()
        return applied.isEmpty ? "schema is up to date (\(Migrator.versions.last ?? "none"))"
                               : "applied migrations: \(applied.joined(separator: ", "))"
    }

    public func maintain(daysAhead: Int, retentionDays: Int) throws -> String {
        guard (1...366).contains(daysAhead) else { throw AdminError("days-ahead: must be between 1 and 366 (got \(daysAhead))") }
        guard (1...3650).contains(retentionDays) else { throw AdminError("retention-days: must be between 1 and 3650 (got \(retentionDays))") }
        let r = try store.maintain(daysAhead: daysAhead, retentionDays: retentionDays)
        return "partitions created: \(r.created), dropped (older than \(retentionDays) days): \(r.dropped)"
    }

    // MARK: accounts and members

    public func createAccount(name: String, json: Bool) throws -> String {
        try Validate.accountName(name)
        let a = try store.createAccount(name: name)
        return json ? Self.json(a).render() : "created account \(a.name) (id \(a.id))"
    }

    public func listAccounts(json: Bool) throws -> String {
        let all = try store.accounts()
        if json { return JSONOutput.array(all.map(Self.json)).render() }
        return table(["ID", "NAME", "CREATED"], all.map { [String($0.id), $0.name, $0.createdAt] })
    }

    public func addMember(account: String, email: String, role: String) throws -> String {
        try Validate.email(email)
        try Validate.role(role)
        try store.addMember(account: account, email: email, role: role)
        return "\(email.lowercased()) is now \(role) of \(account)"
    }

    public func listMembers(account: String, json: Bool) throws -> String {
        let all = try store.members(account: account)
        if json {
            return JSONOutput.array(all.map { .object([("email", .string($0.email)), ("role", .string($0.role)),
                                                        ("created_at", .string($0.createdAt))]) }).render()
        }
        return table(["EMAIL", "ROLE", "ADDED"], all.map { [$0.email, $0.role, $0.createdAt] })
    }

    static func json(_ a: Account) -> JSONOutput {
        .object([("id", .int(a.id)), ("name", .string(a.name)), ("created_at", .string(a.createdAt))])
    }

    // MARK: endpoint test sends

    func httpClient() -> HTTPMultiClient {
        HTTPMultiClient(configuration: HTTPClientConfiguration(
            caFile: environment.caFile, allowPrivateAddresses: environment.allowPrivateEndpoints,
            userAgent: DeliveryHeaders.userAgent))
    }

    /// Sends one signed test line; throws (exit 1) unless the endpoint answers 2xx. Callers
    /// run EndpointGuard first; the HTTP client re-checks the address it connects to.
    func testSend(url: String, secret: String) throws -> String {
        let report = TestSend.send(url: url, secret: secret, client: httpClient(),
                                   timestamp: Self.nowTimestamp(), deliveryID: UUID().uuidString.lowercased())
        guard report.ok else { throw AdminError(report.summary, exitCode: 1) }
        return report.summary
    }

    public func test(drainID: String?, url: String?, secret: SecretSource?) throws -> String {
        if let drainID {
            guard url == nil, secret == nil else { throw AdminError("test: give a DRAIN_ID or --url with a secret, not both") }
            try Self.checkDrainID(drainID)
            guard let saved = try store.endpoint(drainID: drainID) else { throw AdminError("drain: no drain with id \(drainID)") }
            try EndpointGuard.check(url: saved.url, allowPrivate: environment.allowPrivateEndpoints)
            return try testSend(url: saved.url, secret: saved.secret)
        }
        guard let url else { throw AdminError("test: give a DRAIN_ID, or --url URL with --secret-file or --secret-env") }
        guard let secret else { throw AdminError("secret: required with --url: give --secret-file PATH or --secret-env VAR") }
        if secret.isGenerated { throw AdminError("secret: --generate-secret makes no sense for a test; give --secret-file or --secret-env") }
        try EndpointGuard.check(url: url, allowPrivate: environment.allowPrivateEndpoints)
        return try testSend(url: url, secret: try secret.read())
    }

    static func nowTimestamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return f.string(from: Date())
    }

    static func checkDrainID(_ id: String) throws {
        guard UUID(uuidString: id) != nil else { throw AdminError("drain: \(JSONString.encode(id)) is not a drain id (a UUID)") }
    }
}
