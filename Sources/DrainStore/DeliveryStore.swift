import DrainCore
import Postgres

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
    public let filtering: Bool
}

/// The bytes of one batch, ready to sign and send.
public struct Batch: Sendable {
    /// The NDJSON bytes; emptied (`handOff()`) once the HTTP client holds its own copy, so an
    /// in-flight batch is not kept in memory twice. `bytes` keeps its size.
    public private(set) var body: [UInt8]
    public let bytes: Int
    public let lines: Int
    public let endXact: String
    public let endID: Int64
    /// The byte cap ended the batch (more lines may be waiting though it holds fewer than the
    /// sampling rate): the encoder cut it, or it is so large that the read's own cut near
    /// 4 MiB probably did.
    public let cutByBytes: Bool

    public init(body: [UInt8], lines: Int, endXact: String, endID: Int64, cutByBytes: Bool = false) {
        self.body = body
        self.bytes = body.count
        self.lines = lines
        self.endXact = endXact
        self.endID = endID
        self.cutByBytes = cutByBytes || body.count >= WireLimits.maxBatchBytes / 2
    }

    /// Returns the body and drops this copy of it.
    public mutating func handOff() -> [UInt8] {
        defer { body = [] }
        return body
    }
}

/// A batch whose attempt has been recorded as started: its delivery id and attempt number,
/// and the configuration it goes out with (read in the same statement, so an update made
/// since the claim applies, and a failure is counted against exactly this version).
public struct StartedAttempt: Sendable {
    public let deliveryID: String
    public let attempt: Int
    public let url: String
    public let secret: String
    public let configVersion: Int64

    init(_ row: PostgresRow, attempt: Int? = nil) {
        deliveryID = row.requiredString("batch_delivery_id")
        self.attempt = attempt ?? row.int("batch_attempts") ?? 1
        url = row.requiredString("url")
        secret = row.requiredString("secret")
        configVersion = row.int64("config_version") ?? 0
    }
}

/// What a pass over the rows the new-drain rule drops did (§2.12).
public struct FilterSkip: Sendable {
    /// Rows passed (the cursor moved over them).
    public let passed: Int
    /// The scan stopped at its limit without meeting a row to deliver: go on at once.
    public let moreToScan: Bool
}


/// The worker's statements: claim, read, begin attempts, record outcomes, heartbeat.
public final class DeliveryStore {
    public let db: PostgresConnection
    public let workerName: String

    /// A hot standby the log rows are read from (`--read-database-url`), or nil.
    public private(set) var standby: PostgresConnection?

    public init(db: PostgresConnection, workerName: String) {
        self.db = db
        self.workerName = workerName
    }

    public func claim(limit: Int, leaseSeconds: Double, excluding: [String] = []) throws -> [ClaimedDrain] {
        try db.query(SQL.Delivery.claim.call, [limit, workerName, leaseSeconds, PostgresArray(excluding)]).rows.map {
            ClaimedDrain(id: $0.requiredString("id"), accountID: $0.int64("account_id") ?? 0, url: $0.requiredString("url"), secret: $0.requiredString("secret"),
                         samplingRate: $0.int("sampling_rate") ?? 1000, leaseToken: $0.int64("lease_token") ?? 0,
                         consecutiveFailures: $0.int("consecutive_failures") ?? 0,
                         pendingLines: $0.int("pending_lines"),
                         filtering: $0.bool("filtering") ?? false)
        }
    }

    /// Session settings the worker's statements rely on: timestamps as ISO text in UTC; and
    /// bounds, so a statement stuck behind a lock or a forgotten transaction cannot hold a
    /// worker's database side (or its locks) forever. 60 s is far above any statement's normal
    /// time; a timed-out outcome stays queued and is written on the next try.
    public static let sessionSetup = """
        set timezone = 'UTC'; set datestyle = 'ISO, YMD';
        set statement_timeout = '60s'; set idle_in_transaction_session_timeout = '60s'
        """

    /// Behind a transaction-pooling proxy only what the proxy carries from server connection to
    /// server connection: pgbouncer tracks TimeZone and DateStyle (it sets them again on each
    /// server connection it hands this client), not the timeouts, which a SET would leave on a
    /// shared server connection. Set those on the login role instead
    /// (`alter role ... set statement_timeout = '60s'`).
    public static let pooledSessionSetup = "set timezone = 'UTC'; set datestyle = 'ISO, YMD'"

    /// A worker's connection: named prepared statements and the session settings above, or
    /// behind a transaction pooler unnamed statements and only the settings it carries. With
    /// `readURL` (a streaming hot standby), log rows are read there; everything else stays on `url`.
    public static func connect(url: String, readURL: String? = nil, workerName: String, transactionPooling: Bool) throws -> DeliveryStore {
        func open(_ url: String) throws -> PostgresConnection {
            try PostgresConnection(conninfo: url, setup: transactionPooling ? pooledSessionSetup : sessionSetup,
                                   namedStatements: !transactionPooling)
        }
        let store = DeliveryStore(db: try open(url), workerName: workerName)
        store.standby = try readURL.map(open)
        return store
    }

    /// Reads and encodes the next batch of every drain in one statement. Drains with nothing
    /// to send are absent from `batches`; with a standby, `notReplayed` holds the drains whose
    /// pending batch it has not replayed yet (read again shortly; nothing is missing).
    public func readBatches(_ drains: some Collection<ClaimedDrain>) throws -> (batches: [String: Batch], notReplayed: Set<String>) {
        guard !drains.isEmpty else { return ([:], []) }
        let ids = PostgresArray(drains.map(\.id)), tokens = PostgresArray(drains.map(\.leaseToken))
        guard let standby else { return (batches(in: try db.query(SQL.Delivery.readBatches, [ids, tokens])), []) }
        let states = try db.query(SQL.Delivery.readState, [ids, tokens]).rows
        let pending = states.filter { $0.string("batch_end_xact") != nil }
        let waiting = pending.isEmpty ? [] : Set(try standby.query(SQL.Delivery.notReplayedOnStandby, [
            PostgresArray(pending.map { $0.requiredString("id") }), PostgresArray(pending.map { $0.string("batch_end_xact") }),
        ]).rows.map { $0.requiredString("id") })
        let ready = states.filter { !waiting.contains($0.requiredString("id")) }
        guard !ready.isEmpty else { return ([:], waiting) }
        func column(_ name: String) -> PostgresArray { PostgresArray(ready.map { $0.string(name) }) }
        let result = try standby.query(SQL.Delivery.readBatchesOnStandby, [
            column("id"), column("account_id"), column("cursor_xact"), column("cursor_id"), column("batch_end_xact"),
            column("batch_end_id"), column("sampling_rate"), column("start_snapshot"), column("start_ts"),
        ])
        return (batches(in: result), waiting)
    }

    /// The batch after `batch` for a drain this worker still leases; nil when nothing is
    /// readable yet (or the lease was lost).
    public func readBatch(after batch: Batch, drain: ClaimedDrain) throws -> Batch? {
        guard !drain.filtering else { return nil }
        if let standby {
            // The lease and the enabled state were checked when this batch's attempt began;
            // `advance` re-checks both before the read-ahead batch is used.
            let result = try standby.query(SQL.Delivery.readNextBatchOnStandby, [
                PostgresArray([drain.id]), PostgresArray([drain.accountID]), PostgresArray([batch.endXact]),
                PostgresArray([batch.endID]), PostgresArray([drain.samplingRate]),
            ])
            return batches(in: result)[drain.id]
        }
        let result = try db.query(SQL.Delivery.readNextBatch, [
            PostgresArray([drain.id]), PostgresArray([drain.leaseToken]),
            PostgresArray([batch.endXact]), PostgresArray([batch.endID]),
        ])
        return batches(in: result)[drain.id]
    }

    private func batches(in result: PostgresResult) -> [String: Batch] {
        let drainColumn = result.column("drain_id")
        let xactColumn = result.column("xact_id")
        let idColumn = result.column("id")
        // Group each drain's rows and put them in commit order: (xact_id, id). Rows of one
        // drain arrive together, so the id string is only built when it changes.
        var rowsByDrain: [String: [(xact: UInt64, id: Int64, row: Int)]] = [:]
        var current = ""
        var currentBytes: [UInt8] = []
        var currentRows: [(xact: UInt64, id: Int64, row: Int)] = []
        for row in 0..<result.rowCount {
            let same = result.withBytes(row, drainColumn) { bytes in
                guard let bytes, bytes.count == currentBytes.count else { return false }
                return currentBytes.withUnsafeBufferPointer { $0.elementsEqual(bytes) }
            }
            if !same {
                if !currentRows.isEmpty { rowsByDrain[current, default: []] += currentRows }
                current = result.string(row, drainColumn) ?? ""
                currentBytes = Array(current.utf8)
                currentRows = []
                currentRows.reserveCapacity(result.rowCount - row)
            }
            currentRows.append((xact: result.unsigned(row, xactColumn), id: Int64(result.unsigned(row, idColumn)), row: row))
        }
        if !currentRows.isEmpty { rowsByDrain[current, default: []] += currentRows }
        var batches: [String: Batch] = [:]
        for (drainID, var rows) in rowsByDrain {
            if !zip(rows, rows.dropFirst()).allSatisfy({ ($0.xact, $0.id) < ($1.xact, $1.id) }) {
                rows.sort { ($0.xact, $0.id) < ($1.xact, $1.id) }
            }
            batches[drainID] = encode(result, rows: rows)
        }
        return batches
    }

    /// Encodes rows (in order) into one batch, up to the byte cap; the batch ends at the last
    /// row it holds.
    private func encode(_ result: PostgresResult, rows: [(xact: UInt64, id: Int64, row: Int)]) -> Batch {
        let fieldColumns = LogField.allCases.map { result.column($0.key) }
        // Size the buffer from the values themselves: a guess that is too small doubles a
        // megabyte buffer mid-batch. Keys and punctuation add at most ~230 bytes a line.
        var size = rows.count * 232
        for row in rows { for column in fieldColumns { size += result.length(row.row, column) } }
        var writer = NDJSONWriter(capacity: min(size + size / 16, WireLimits.maxBatchBytes + 1024))
        var timestamp: [UInt8] = []
        timestamp.reserveCapacity(32)
        var included = 0
        var cut = false
        for (_, _, row) in rows {
            let lineStart = writer.bytes.count
            writer.beginLine()
            for field in LogField.allCases {
                result.withBytes(row, fieldColumns[field.rawValue]) { bytes in
                    // A timestamp outside the wire format's range (e.g. a BC date a producer
                    // wrote) goes out as PostgreSQL printed it: odd, but never a stuck drain.
                    guard field == .timestamp, let bytes, WireTimestamp.fromPostgres(bytes, into: &timestamp) else {
                        return writer.append(field, bytes)
                    }
                    timestamp.withUnsafeBufferPointer { writer.append(field, $0) }
                }
            }
            writer.endLine()
            // The byte cap (§2.13): a line that takes the body over it waits for the next batch,
            // unless it is the batch's only line.
            if writer.bytes.count > WireLimits.maxBatchBytes && writer.lineCount > 1 {
                writer.removeLastLine(startingAt: lineStart)
                cut = true
                break
            }
            included += 1
        }
        let last = rows[included - 1]
        return Batch(body: writer.bytes, lines: writer.lineCount, endXact: String(last.xact), endID: last.id, cutByBytes: cut)
    }

    /// Fixes each batch's end (first attempt only) and counts the attempt; a drain missing from
    /// the answer lost its lease and must not be sent.
    public func beginAttempts(_ items: [(drain: ClaimedDrain, batch: Batch)]) throws -> [String: StartedAttempt] {
        guard !items.isEmpty else { return [:] }
        let result = try db.query(SQL.Delivery.beginAttempts.call, [
            PostgresArray(items.map(\.drain.id)), PostgresArray(items.map(\.drain.leaseToken)),
            PostgresArray(items.map(\.batch.endXact)), PostgresArray(items.map(\.batch.endID)),
            PostgresArray(items.map(\.batch.lines)),
        ])
        var started: [String: StartedAttempt] = [:]
        for r in result.rows { started[r.requiredString("id")] = StartedAttempt(r) }
        return started
    }

    /// Records the 2xx of `batch` and fixes `next` as the drain's new pending batch (attempt
    /// 1), keeping the lease. Returns the next delivery's id and the drain's current URL and
    /// secret, or nil when the drain was disabled or the lease lost (record the success alone).
    public func advance(drain: ClaimedDrain, batch: Batch, attempt: StartedAttempt, status: Int, seconds: Double,
                        next: Batch, leaseSeconds: Double) throws -> StartedAttempt? {
        let result = try db.query(SQL.Delivery.advance.call, [
            drain.id, drain.leaseToken, attempt.deliveryID, next.endXact, next.endID, next.lines, leaseSeconds,
            attempt.attempt, batch.lines, batch.bytes, status, Int(seconds * 1000), workerName,
        ])
        return result.rows.first.map { StartedAttempt($0, attempt: 1) }
    }

    /// Passes rows the new-drain rule drops, at most `SQL.Delivery.filterScanRows` of them.
    public func skipFiltered(_ drain: ClaimedDrain) throws -> FilterSkip {
        let limit = SQL.Delivery.filterScanRows
        let row = try db.query(SQL.Delivery.skipFiltered.call, [drain.id, drain.leaseToken, limit]).rows[0]
        let scanned = row.int("scanned") ?? 0
        let foundKept = row.bool("found_kept") ?? false
        return FilterSkip(passed: row.int("passed") ?? 0, moreToScan: !foundKept && scanned >= limit)
    }

    /// Drops a pending batch whose rows are gone and counts them as the drain's gap.
    public func dropPendingBatch(_ drain: ClaimedDrain, missingLines: Int) throws {
        try db.query(SQL.Delivery.dropPendingBatch.call, [drain.id, drain.leaseToken, missingLines])
    }

    public func releaseIdle(_ drains: some Collection<ClaimedDrain>, intervalSeconds: Double) throws {
        guard !drains.isEmpty else { return }
        try db.query(SQL.Delivery.releaseIdle.call, [PostgresArray(drains.map(\.id)), PostgresArray(drains.map(\.leaseToken)), intervalSeconds])
    }

    /// Records an outcome atomically. Returns false when the lease was lost (the write matched
    /// nothing and the result is discarded).
    @discardableResult
    public func record(_ result: DeliveryResult, drain: ClaimedDrain, batch: Batch, attempt: StartedAttempt,
                       nextDueAfterSuccess: Double) throws -> Bool {
        switch result {
        case .success(let status, let seconds):
            return try db.query(SQL.Delivery.recordSuccess.call, [
                drain.id, drain.leaseToken, attempt.deliveryID, nextDueAfterSuccess, attempt.attempt,
                batch.lines, batch.bytes, status, Int(seconds * 1000), workerName,
            ]).rowCount == 1
        case .failure(let status, let error, let delay, let seconds):
            return try db.query(SQL.Delivery.recordFailure.call, [
                drain.id, drain.leaseToken, attempt.deliveryID, delay, String(error.prefix(500)), attempt.attempt,
                batch.lines, batch.bytes, status, Int(seconds * 1000), workerName, attempt.configVersion,
            ]).rowCount == 1
        }
    }

    /// A round trip and nothing else: is the database answering?
    public func ping() throws {
        try db.query(SQL.Workers.ping)
    }

    public func register(host: String, pid: Int) throws {
        try db.query(SQL.Workers.register, [workerName, host, pid])
    }

    public func heartbeat(host: String, pid: Int, inFlight: Int) throws {
        try db.query(SQL.Workers.heartbeat, [workerName, host, pid, inFlight])
    }

    /// The hourly upkeep, if no one ran it within the hour; nil when it was not due.
    public func maintainIfDue() throws -> MaintenanceRun? {
        try db.query(SQL.Maintenance.runIfDue, [workerName]).rows.first.map(MaintenanceRun.init)
    }

    /// The oldest running transaction id and the next id (equal when none runs).
    public func watermark() throws -> (xmin: String, xmax: String) {
        let r = try db.query(SQL.Workers.watermark).rows[0]
        return (r.requiredString("xmin"), r.requiredString("xmax"))
    }

    public func unregister() throws {
        try db.query(SQL.Workers.unregister, [workerName])
    }
}
