import DrainCore
import Logging

public struct WorkerConfiguration: Sendable {
    /// `postgresql://` URL or conninfo; empty means libpq's defaults (PGHOST, ...).
    public var databaseURL: String
    public var name: String
    /// How many drains may be in flight at once.
    public var concurrency: Int
    /// A drain with nothing more waiting is due again this long after its last attempt.
    public var interval: Double
    /// How long a claim lasts; longer than the delivery timeout.
    public var lease: Double
    public var backoff: Backoff
    public var caFile: String?
    public var allowPrivateEndpoints: Bool
    public var metricsAddress: String?
    /// An explicit proxy for endpoint connections (`--proxy`/`DRAIN_PROXY`); nil: direct only.
    public var proxy: String?
    /// Keys for secrets encrypted at rest (§5); nil: secrets are read as stored.
    public var secretKeys: SecretKeys?
    public var deliveryTimeout: Double = Limits.deliveryTimeoutSeconds
    public var logLevel: Logger.Level
    /// Connections go through a transaction-pooling proxy (pgbouncer `pool_mode = transaction`):
    /// no named prepared statements, no session settings the proxy does not carry.
    public var transactionPooling = false
    /// A streaming hot standby to read log rows from (`--read-database-url`); claims and
    /// outcomes stay on `databaseURL`.
    public var readDatabaseURL: String?

    public init(databaseURL: String, name: String, concurrency: Int, interval: Double, lease: Double,
                backoff: Backoff, caFile: String?, allowPrivateEndpoints: Bool, metricsAddress: String?,
                proxy: String? = nil, transactionPooling: Bool = false, readDatabaseURL: String? = nil,
                secretKeys: SecretKeys? = nil, logLevel: Logger.Level = .info) {
        self.logLevel = logLevel
        self.databaseURL = databaseURL
        self.name = name
        self.concurrency = concurrency
        self.interval = interval
        self.lease = lease
        self.backoff = backoff
        self.caFile = caFile
        self.allowPrivateEndpoints = allowPrivateEndpoints
        self.metricsAddress = metricsAddress
        self.proxy = proxy
        self.transactionPooling = transactionPooling
        self.readDatabaseURL = readDatabaseURL
        self.secretKeys = secretKeys
    }
}
