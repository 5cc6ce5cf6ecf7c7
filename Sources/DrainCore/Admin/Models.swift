/// Rows as the product shows them. Times are RFC 3339 strings (UTC) or nil.
public struct Account: Sendable, Equatable {
    public let id: Int64
    public let name: String
    public let createdAt: String

    public init(id: Int64, name: String, createdAt: String) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

public struct Member: Sendable, Equatable {
    public let email: String
    public let role: String
    public let createdAt: String
    /// The login role whose sessions act as this member (§5), if linked.
    public let dbRole: String?

    public init(email: String, role: String, createdAt: String, dbRole: String?) {
        self.email = email
        self.role = role
        self.createdAt = createdAt
        self.dbRole = dbRole
    }
}

public struct DrainStatus: Sendable {
    public let id: String
    public let account: String
    public let name: String
    /// Redacted: userinfo, query values and tokens in the path are `***`.
    public let url: String
    public let enabled: Bool
    public let disabledReason: String?
    public let samplingRate: Int
    public let consecutiveFailures: Int
    public let lastSuccessAt: String?
    public let lastFailureAt: String?
    public let lastError: String?
    public let createdAt: String
    public let deliveredLines: Int64
    /// Age in seconds of the oldest line not yet delivered; nil when caught up.
    public let lagSeconds: Double?
    public let pendingDeliveryID: String?
    public let pendingAttempts: Int
    public let pendingLines: Int?
    public let leaseOwner: String?
    /// Lines removed (retention, or by hand) before they were delivered (§2.14), and when the
    /// last such gap was found.
    public let gapLines: Int64
    public let lastGapAt: String?

    public init(id: String, account: String, name: String, url: String, enabled: Bool, disabledReason: String?, samplingRate: Int, consecutiveFailures: Int, lastSuccessAt: String?, lastFailureAt: String?, lastError: String?, createdAt: String, deliveredLines: Int64, lagSeconds: Double?, pendingDeliveryID: String?, pendingAttempts: Int, pendingLines: Int?, leaseOwner: String?, gapLines: Int64, lastGapAt: String?) {
        self.id = id
        self.account = account
        self.name = name
        self.url = url
        self.enabled = enabled
        self.disabledReason = disabledReason
        self.samplingRate = samplingRate
        self.consecutiveFailures = consecutiveFailures
        self.lastSuccessAt = lastSuccessAt
        self.lastFailureAt = lastFailureAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.deliveredLines = deliveredLines
        self.lagSeconds = lagSeconds
        self.pendingDeliveryID = pendingDeliveryID
        self.pendingAttempts = pendingAttempts
        self.pendingLines = pendingLines
        self.leaseOwner = leaseOwner
        self.gapLines = gapLines
        self.lastGapAt = lastGapAt
    }
}

/// One of a drain's recent attempts, as `show` lists them.
public struct RecentAttempt: Sendable {
    public let deliveryID: String?
    public let attempt: Int
    public let lines: Int
    public let bytes: Int
    public let status: Int?
    public let error: String?
    public let durationMs: Int?
    public let worker: String?
    public let at: String

    public init(deliveryID: String?, attempt: Int, lines: Int, bytes: Int, status: Int?, error: String?, durationMs: Int?, worker: String?, at: String) {
        self.deliveryID = deliveryID
        self.attempt = attempt
        self.lines = lines
        self.bytes = bytes
        self.status = status
        self.error = error
        self.durationMs = durationMs
        self.worker = worker
        self.at = at
    }
}

public struct AuditEvent: Sendable {
    public let id: Int64
    public let actor: String
    public let action: String
    public let drainID: String?
    /// JSON text of the drain before and after (secrets redacted), or nil.
    public let before: String?
    public let after: String?
    public let at: String

    public init(id: Int64, actor: String, action: String, drainID: String?, before: String?, after: String?, at: String) {
        self.id = id
        self.actor = actor
        self.action = action
        self.drainID = drainID
        self.before = before
        self.after = after
        self.at = at
    }
}

public struct WorkerInfo: Sendable {
    public let name: String
    public let host: String
    public let pid: Int
    public let startedAt: String
    public let heartbeatAt: String
    public let inFlight: Int

    public init(name: String, host: String, pid: Int, startedAt: String, heartbeatAt: String, inFlight: Int) {
        self.name = name
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.inFlight = inFlight
    }
}

/// What a new drain is made of. The secret travels only to the database.
public struct NewDrain: Sendable {
    public var account: String
    public var actor: String
    public var name: String
    public var url: String
    public var secret: String
    public var samplingRate: Int
    public var enabled: Bool

    public init(account: String, actor: String, name: String, url: String, secret: String, samplingRate: Int, enabled: Bool) {
        self.account = account
        self.actor = actor
        self.name = name
        self.url = url
        self.secret = secret
        self.samplingRate = samplingRate
        self.enabled = enabled
    }
}

/// A change to a drain; nil fields stay as they are.
public struct DrainChange: Sendable {
    public var name: String?
    public var url: String?
    public var samplingRate: Int?
    public var secret: String?

    public init(name: String? = nil, url: String? = nil, samplingRate: Int? = nil, secret: String? = nil) {
        self.name = name
        self.url = url
        self.samplingRate = samplingRate
        self.secret = secret
    }

    public var isEmpty: Bool { name == nil && url == nil && samplingRate == nil && secret == nil }
}

/// The member a sign-in token (or a dashboard session made from one) speaks for.
public struct SignedInMember: Sendable, Equatable {
    public let tokenID: Int64
    public let account: String
    public let email: String
    /// `admin` or `member`: read from the membership on every request, so a changed role counts at once.
    public let role: String
    public var isAdmin: Bool { role == "admin" }

    public init(tokenID: Int64, account: String, email: String, role: String) {
        self.tokenID = tokenID
        self.account = account
        self.email = email
        self.role = role
    }
}

/// One upkeep run: partitions created and dropped, under these settings.
public struct MaintenanceRun: Sendable {
    public let created: Int
    public let dropped: Int
    public let daysAhead: Int
    public let retentionDays: Int

    public init(created: Int, dropped: Int, daysAhead: Int, retentionDays: Int) {
        self.created = created
        self.dropped = dropped
        self.daysAhead = daysAhead
        self.retentionDays = retentionDays
    }
}

