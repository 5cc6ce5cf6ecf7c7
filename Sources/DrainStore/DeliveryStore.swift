import DrainCore
internal import Postgres

/// The worker's statements: claim, read, begin attempts, record outcomes, heartbeat. Its
/// connections are its own; errors leave as `StoreError`.
public final class DeliveryStore {
    private let db: StoreConnection
    /// A hot standby the log rows are read from (`--read-database-url`), or nil.
    private let standby: StoreConnection?
    public let workerName: String
    /// Opens the connection a prefetch reads on (to the standby when there is one).
    private let openPrefetchConnection: () throws(StoreError) -> StoreConnection
    private var prefetchConnection: StoreConnection?
    /// The read in flight on the prefetch connection: whose batch, and after which position.
    /// (`expectedBytes`: the batch before's body, which sizes the next one's buffer.)
    private var prefetch: (drainID: String, leaseToken: Int64, afterXact: String, afterID: Int64, expectedBytes: Int)?

    private init(db: StoreConnection, standby: StoreConnection?, workerName: String,
                 openPrefetchConnection: @escaping () throws(StoreError) -> StoreConnection) {
        self.db = db
        self.standby = standby
        self.workerName = workerName
        self.openPrefetchConnection = openPrefetchConnection
    }

    /// Session settings the worker's statements rely on: timestamps as ISO text in UTC; and
    /// bounds, so a statement stuck behind a lock or a forgotten transaction cannot hold a
    /// worker's database side (or its locks) forever. 60 s is far above any statement's normal
    /// time; a timed-out outcome stays queued and is written on the next try.
    static let sessionSetup = """
        set timezone = 'UTC'; set datestyle = 'ISO, YMD';
        set statement_timeout = '60s'; set idle_in_transaction_session_timeout = '60s'
        """

    /// Behind a transaction-pooling proxy only what the proxy carries from server connection to
    /// server connection: pgbouncer tracks TimeZone and DateStyle (it sets them again on each
    /// server connection it hands this client), not the timeouts, which a SET would leave on a
    /// shared server connection. Set those on the login role instead
    /// (`alter role ... set statement_timeout = '60s'`).
    static let pooledSessionSetup = "set timezone = 'UTC'; set datestyle = 'ISO, YMD'"

    /// A worker's connection: named prepared statements and the session settings above, or
    /// behind a transaction pooler unnamed statements and only the settings it carries. With
    /// `readURL` (a streaming hot standby), log rows are read there; everything else stays on `url`.
    public static func connect(url: String, readURL: String? = nil, workerName: String,
                               transactionPooling: Bool) throws(StoreError) -> DeliveryStore {
        func open(_ url: String) throws(StoreError) -> StoreConnection {
            try StoreConnection.open(url: url, setup: transactionPooling ? pooledSessionSetup : sessionSetup,
                                     namedStatements: !transactionPooling)
        }
        let primary = try open(url)
        let standby: StoreConnection? = if let readURL { try open(readURL) } else { nil }
        return DeliveryStore(db: primary, standby: standby, workerName: workerName) { () throws(StoreError) in
            try open(readURL ?? url)
        }
    }

    public func claim(limit: Int, leaseSeconds: Double, excluding: [String] = []) throws(StoreError) -> [ClaimedDrain] {
        try db.execute(SQL.Delivery.Claim(limit: limit, worker: workerName, leaseSeconds: leaseSeconds, excluding: excluding))
    }

    /// Ends the new-drain filter of those just-claimed `drains` it has nothing left to drop, in
    /// one statement (none when no drain still filters); returns their ids.
    public func endNeedlessFilters(among drains: [ClaimedDrain]) throws(StoreError) -> Set<String> {
        let filtering = drains.filter { $0.filtering && $0.pendingLines == nil }
        guard !filtering.isEmpty else { return [] }
        return Set(try db.execute(SQL.Delivery.EndNeedlessFilters(drains: filtering)))
    }

    /// Reads and encodes the next batch of every drain in one statement. Drains with nothing
    /// to send are absent from `batches`; with a standby, `notReplayed` holds the drains whose
    /// pending batch it has not replayed yet (read again shortly; nothing is missing).
    public func readBatches(_ drains: [ClaimedDrain]) throws(StoreError) -> (batches: [String: Batch], notReplayed: Set<String>) {
        guard !drains.isEmpty else { return ([:], []) }
        guard let standby else {
            return (try LogRows.batches(in: db.result(of: SQL.Delivery.ReadBatches(drains: drains))), [])
        }
        let states = try db.execute(SQL.Delivery.ReadState(drains: drains))
        let pending = states.filter { $0.batchEndXact != nil }
        let waiting = pending.isEmpty ? [] : Set(try standby.execute(SQL.Delivery.NotReplayedOnStandby(pending: pending)))
        let ready = states.filter { !waiting.contains($0.id) }
        guard !ready.isEmpty else { return ([:], waiting) }
        return (try LogRows.batches(in: standby.result(of: SQL.Delivery.ReadBatchesOnStandby(states: ready))), waiting)
    }

    /// The batch after `batch` for a drain this worker still leases; nil when nothing is
    /// readable yet (or the lease was lost).
    public func readBatch(after batch: Batch, drain: ClaimedDrain) throws(StoreError) -> Batch? {
        guard !drain.filtering else { return nil }
        let connection = standby ?? db
        try sendReadNext(on: connection, drain: drain, afterXact: batch.endXact, afterID: batch.endID)
        return try LogRows.stream(on: connection, expectedBytes: batch.bytes)
    }

    /// Sends the read of the batch after a position (on the standby's statement when there is
    /// one), row by row and in binary form: `LogRows.stream` takes its rows. The lease and the
    /// enabled state were checked when the batch before began; `advance` re-checks both before
    /// a batch read ahead is used.
    private func sendReadNext(on connection: StoreConnection, drain: ClaimedDrain, afterXact: String,
                              afterID: Int64) throws(StoreError) {
        if standby != nil {
            try connection.send(SQL.Delivery.ReadNextBatchOnStandby(drain: drain, afterXact: afterXact, afterID: afterID),
                                binaryResults: true)
        } else {
            try connection.send(SQL.Delivery.ReadNextBatch(drain: drain, afterXact: afterXact, afterID: afterID),
                                binaryResults: true)
        }
    }

    // MARK: prefetch: the batch after the read-ahead one, read on a connection of its own

    /// The drain whose next batch is being read in the background, if any.
    public var prefetchingDrain: String? { prefetch?.drainID }

    /// Starts reading the batch after `batch` on the prefetch connection and returns at once:
    /// the server reads it while the caller records and sends. One prefetch at a time; a
    /// failure to start one only means the batch is read when it is needed.
    public func startPrefetch(after batch: Batch, drain: ClaimedDrain) {
        guard prefetch == nil, !drain.filtering else { return }
        do {
            let connection: StoreConnection
            if let open = prefetchConnection {
                connection = open
            } else {
                connection = try openPrefetchConnection()
                prefetchConnection = connection
            }
            try sendReadNext(on: connection, drain: drain, afterXact: batch.endXact, afterID: batch.endID)
            prefetch = (drain.id, drain.leaseToken, batch.endXact, batch.endID, batch.bytes)
        } catch {
            // Best-effort: the batch is read when it is needed.
        }
    }

    /// The batch after `batch`, from the prefetch when it is this one (taking its rows as they
    /// arrive); `nil` when there is none for this drain (another drain's goes on) or the
    /// prefetch failed: the caller then reads now, which reports a real database problem. A
    /// prefetch of this drain from another position or lease is discarded.
    public func takePrefetch(after batch: Batch, drain: ClaimedDrain) -> Batch?? {
        guard let pending = prefetch, pending.drainID == drain.id else { return nil }
        guard pending.leaseToken == drain.leaseToken, pending.afterXact == batch.endXact, pending.afterID == batch.endID,
              let connection = prefetchConnection else {
            discardPrefetch()
            return nil
        }
        prefetch = nil
        guard let next = try? LogRows.stream(on: connection, expectedBytes: pending.expectedBytes) else { return nil }
        return .some(next)
    }

    /// Ends a prefetch nobody will use, so the connection is free again: its rows are read and
    /// dropped, and past a batch's worth of bytes the rest is cancelled.
    public func discardPrefetch() {
        guard prefetch != nil else { return }
        prefetch = nil
        guard let connection = prefetchConnection, connection.hasPending else { return }
        var bytes = 0
        try? connection.streamPending { row in
            bytes += row.byteCount
            return bytes <= Limits.maxBatchBytes
        }
    }

    /// Fixes each batch's end (first attempt only) and counts the attempt; a drain missing from
    /// the answer lost its lease and must not be sent.
    public func beginAttempts(_ items: [(drain: ClaimedDrain, batch: Batch)]) throws(StoreError) -> [String: DeliveryAttempt] {
        guard !items.isEmpty else { return [:] }
        var started: [String: DeliveryAttempt] = [:]
        for (id, attempt) in try db.execute(SQL.Delivery.BeginAttempts(items: items)) { started[id] = attempt }
        return started
    }

    private func facts(_ attempt: DeliveryAttempt, _ batch: Batch, status: Int?, seconds: Double) -> SQL.Delivery.AttemptFacts {
        SQL.Delivery.AttemptFacts(deliveryID: attempt.deliveryID, attempt: attempt.attempt, lines: batch.lines,
                                  bytes: batch.bytes, status: status, milliseconds: Int(seconds * 1000))
    }

    /// Records the 2xx of `batch` and fixes `next` as the drain's new pending batch (attempt
    /// 1), keeping the lease. Returns the next attempt (with the drain's current URL and
    /// secret), or nil when the drain was disabled or the lease lost (record the success alone).
    public func advance(drain: ClaimedDrain, batch: Batch, attempt: DeliveryAttempt, status: Int, seconds: Double,
                        next: Batch, leaseSeconds: Double) throws(StoreError) -> DeliveryAttempt? {
        try db.first(SQL.Delivery.Advance(drainID: drain.id, leaseToken: drain.leaseToken, next: next, leaseSeconds: leaseSeconds,
                                          sent: facts(attempt, batch, status: status, seconds: seconds), worker: workerName))
    }

    /// Passes rows the new-drain rule drops, at most `SQL.Delivery.filterScanRows` of them.
    public func skipFiltered(_ drain: ClaimedDrain) throws(StoreError) -> FilterSkip {
        try db.one(SQL.Delivery.SkipFiltered(drainID: drain.id, leaseToken: drain.leaseToken,
                                             scanLimit: SQL.Delivery.filterScanRows))
    }

    /// Drops a pending batch whose rows are gone and counts them as the drain's gap.
    public func dropPendingBatch(_ drain: ClaimedDrain, missingLines: Int) throws(StoreError) {
        try db.execute(SQL.Delivery.DropPendingBatch(drainID: drain.id, leaseToken: drain.leaseToken, missingLines: missingLines))
    }

    public func releaseIdle(_ drains: [ClaimedDrain], intervalSeconds: Double) throws(StoreError) {
        guard !drains.isEmpty else { return }
        try db.execute(SQL.Delivery.ReleaseIdle(drains: drains, dueInSeconds: intervalSeconds))
    }

    /// A 2xx to record: the drain, the batch and attempt it answered, and when the drain is
    /// due again.
    public struct Success: Sendable {
        public var drain: ClaimedDrain
        public var batch: Batch
        public var attempt: DeliveryAttempt
        public var status: Int
        public var seconds: Double
        public var dueInSeconds: Double

        public init(drain: ClaimedDrain, batch: Batch, attempt: DeliveryAttempt, status: Int, seconds: Double, dueInSeconds: Double) {
            self.drain = drain
            self.batch = batch
            self.attempt = attempt
            self.status = status
            self.seconds = seconds
            self.dueInSeconds = dueInSeconds
        }
    }

    /// Records several drains' 2xx answers in one statement (one commit), each atomically
    /// under its own lease. Returns the drains whose outcome was kept; any other lost its lease
    /// (the write matched nothing and the outcome is discarded).
    public func recordSuccesses(_ successes: [Success]) throws(StoreError) -> Set<String> {
        guard !successes.isEmpty else { return [] }
        let items = successes.map {
            SQL.Delivery.RecordSuccesses.Item(drain: $0.drain, dueInSeconds: $0.dueInSeconds,
                                              sent: facts($0.attempt, $0.batch, status: $0.status, seconds: $0.seconds))
        }
        return Set(try db.execute(SQL.Delivery.RecordSuccesses(items: items, worker: workerName)))
    }

    /// Records a failure atomically. Returns false when the lease was lost (the write matched
    /// nothing and the outcome is discarded).
    public func recordFailure(status: Int?, error: String, retryInSeconds: Double, seconds: Double, drain: ClaimedDrain,
                              batch: Batch, attempt: DeliveryAttempt) throws(StoreError) -> Bool {
        try db.execute(SQL.Delivery.RecordFailure(
            drainID: drain.id, leaseToken: drain.leaseToken, retryInSeconds: retryInSeconds, error: String(error.prefix(500)),
            configVersion: attempt.configVersion, sent: facts(attempt, batch, status: status, seconds: seconds),
            worker: workerName)).count == 1
    }

    /// A round trip and nothing else: is the database answering?
    public func ping() throws(StoreError) {
        try db.execute(SQL.Workers.Ping())
    }

    public func register(host: String, pid: Int) throws(StoreError) {
        try db.execute(SQL.Workers.Register(name: workerName, host: host, pid: pid))
    }

    public func heartbeat(host: String, pid: Int, inFlight: Int) throws(StoreError) {
        try db.execute(SQL.Workers.Heartbeat(name: workerName, host: host, pid: pid, inFlight: inFlight))
    }

    /// The hourly upkeep, if no one ran it within the hour; nil when it was not due.
    public func maintainIfDue() throws(StoreError) -> MaintenanceRun? {
        try db.first(SQL.Maintenance.RunIfDue(worker: workerName))
    }

    /// The oldest running transaction id and the next id (equal when none runs).
    public func watermark() throws(StoreError) -> (xmin: String, xmax: String) {
        try db.one(SQL.Workers.Watermark())
    }

    public func unregister() throws(StoreError) {
        try db.execute(SQL.Workers.Unregister(name: workerName))
    }
}
