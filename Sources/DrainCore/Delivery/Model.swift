/// The delivery model: what a worker holds for one drain while it delivers, one name per idea.
/// `ClaimedDrain` (the lease) → `Batch` (the bytes) → `DeliveryAttempt` (the attempt as
/// recorded when it began) → `EndpointAnswer` (what came back) → `DeliveryOutcome` (how it
/// counts). `DrainDelivery` decides what happens next.

/// A drain this worker holds a lease on. `leaseToken` fences every later write.
public struct ClaimedDrain: Sendable {
    public let id: String
    public let accountID: Int64
    public var url: String
    public var secret: String
    public let samplingRate: Int
    public let leaseToken: Int64
    public var consecutiveFailures: Int
    /// Lines of the batch an earlier attempt fixed (nil: none pending).
    public let pendingLines: Int?
    /// The new-drain rule (§2.8) still filters this drain's rows.
    public var filtering: Bool

    public init(id: String, accountID: Int64, url: String, secret: String, samplingRate: Int, leaseToken: Int64,
                consecutiveFailures: Int, pendingLines: Int?, filtering: Bool) {
        self.id = id
        self.accountID = accountID
        self.url = url
        self.secret = secret
        self.samplingRate = samplingRate
        self.leaseToken = leaseToken
        self.consecutiveFailures = consecutiveFailures
        self.pendingLines = pendingLines
        self.filtering = filtering
    }
}

/// The bytes of one batch, ready to sign and send.
public struct Batch: Sendable {
    /// The NDJSON bytes; emptied (`handOff()`) once the HTTP client holds its own copy, so an
    /// in-flight batch is not kept in memory twice. `bytes` keeps its size.
    public private(set) var body: [UInt8]
    public let bytes: Int
    public let lines: Int
    /// The stream position of the last line: (xact_id, id).
    public let endXact: String
    public let endID: Int64
    /// The byte cap ended the batch (more lines may be waiting though it holds fewer than the
    /// sampling rate): the encoder cut it, or (`readCutNearCap`: a read that cuts by raw bytes
    /// in the server, before the encoder) it is so large that the read's cut probably did.
    public let cutByBytes: Bool

    public init(body: [UInt8], lines: Int, endXact: String, endID: Int64, cutByBytes: Bool = false,
                readCutNearCap: Bool = true) {
        self.body = body
        self.bytes = body.count
        self.lines = lines
        self.endXact = endXact
        self.endID = endID
        self.cutByBytes = cutByBytes || (readCutNearCap && body.count >= Limits.maxBatchBytes / 2)
    }

    /// Returns the body and drops this copy of it.
    public mutating func handOff() -> [UInt8] {
        defer { body = [] }
        return body
    }
}

/// An attempt as recorded when it began: its delivery id and number, and the configuration
/// it goes out with (read in the same statement, so an update made since the claim applies,
/// and a failure is counted against exactly this version).
public struct DeliveryAttempt: Sendable, Equatable {
    public let deliveryID: String
    public let attempt: Int
    public let url: String
    public let secret: String
    public let configVersion: Int64

    public init(deliveryID: String, attempt: Int, url: String, secret: String, configVersion: Int64) {
        self.deliveryID = deliveryID
        self.attempt = attempt
        self.url = url
        self.secret = secret
        self.configVersion = configVersion
    }
}

/// What a pass over the rows the new-drain rule drops did (§2.12).
public struct FilterSkip: Sendable {
    /// Rows passed (the cursor moved over them).
    public let passed: Int
    /// The scan stopped at its limit without meeting a row to deliver: go on at once.
    public let moreToScan: Bool

    public init(passed: Int, moreToScan: Bool) {
        self.passed = passed
        self.moreToScan = moreToScan
    }
}
