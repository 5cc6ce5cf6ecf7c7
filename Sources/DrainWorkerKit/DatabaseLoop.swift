import Delivery
import DrainCore
import DrainStore
import Foundation
import Logging

/// The worker's database side, on a thread and connection of its own: claims due drains,
/// reads and begins their batches, posts the requests to the HTTP loop, and records each
/// outcome under its lease. Per drain, `DrainDelivery` decides and this type carries the
/// actions out. It may wait on PostgreSQL as long as PostgreSQL makes it: the HTTP loop goes
/// on meanwhile, and outcomes wait here, in order, until the database takes them (§2.11).
final class DatabaseLoop {
    private struct Entry {
        var drain: ClaimedDrain
        var machine: DrainDelivery
        /// The batch read, begun or on the wire (its body handed to the HTTP loop).
        var batch: Batch?
        var attempt: DeliveryAttempt?
        /// The batch after it, read while it was on the wire.
        var next: Batch?
    }

    private let config: WorkerConfiguration
    private let logger: Logger
    private let metrics: WorkerMetrics
    private let health: WorkerHealth
    /// The watermark's xmin and since when this worker has seen it unchanged.
    private var watermark: (xmin: String, since: ContinuousClock.Instant)?
    private let stop: StopFlag
    private let sends: SendQueue
    private let completions: CompletionQueue
    private let host = ProcessInfo.processInfo.hostName
    private let pid = Int(ProcessInfo.processInfo.processIdentifier)

    private var store: DeliveryStore?
    private var entries: [String: Entry] = [:]
    /// Transfer id → drain id, for exchanges on the wire.
    private var transfers: [Int: String] = [:]
    /// Drains whose outcome waits for the database, oldest first.
    private var outcomes: [String] = []
    private var nextTransferID = 0
    private var nextClaimAt = ContinuousClock.now
    private var nextHeartbeatAt = ContinuousClock.now
    private var retry = DatabaseRetry()
    private var stoppingSince: ContinuousClock.Instant?
    /// Drains whose secret this worker cannot decrypt (a key it lacks), left to other workers
    /// until the instant given: no attempt and no failure for them here (§5).
    private var leftToOthers: [String: ContinuousClock.Instant] = [:]
    static let leaveToOthersFor: Duration = .seconds(60)

    /// Claimed drains are read and sent a group at a time: 64 drains x 5000 lines read at once
    /// would hold every body twice (ours and curl's) at the peak, while many drains with a few
    /// lines each are best read (and begun) in one statement. A group is 8 to 64 drains, as
    /// many as fit both budgets: their sampling rates add up to at most `readGroupLines` (64
    /// drains at the default rate, 12 at the top one), and the largest batch a recent read
    /// found, times the group, to at most `readGroupBytes` (8 full batches of ~1.5 MB). The
    /// byte estimate ignores reads that found nothing and at most doubles from one read to the
    /// next, so a quiet spell does not open the way for 64 large batches at once.
    static let readGroupBytes = 12 << 20
    static let readGroupLines = 64 * Limits.defaultSamplingRate
    static let readGroupSizes = 8...64
    private var readGroupSize = readGroupSizes.lowerBound
    /// Reading ahead pays when a few drains carry a backlog; with many in flight the database
    /// and the wire are busy anyway, and each read-ahead batch is memory held twice.
    static let readAheadMaxInFlight = 4
    private var readAheadAllowed: Bool { entries.count <= Self.readAheadMaxInFlight }

    /// After SIGTERM, how long outcomes may wait for an unreachable database before the worker
    /// exits anyway (their leases expire and the same batches are resent, byte-identical).
    static let stopGrace: Duration = .seconds(10)

    init(config: WorkerConfiguration, logger: Logger, metrics: WorkerMetrics, health: WorkerHealth, stop: StopFlag,
         sends: SendQueue, completions: CompletionQueue) {
        self.config = config
        self.logger = logger
        self.metrics = metrics
        self.health = health
        self.stop = stop
        self.sends = sends
        self.completions = completions
    }

    /// Runs until stopped and every claimed drain is settled, then closes the send queue.
    func run() {
        while true {
            for completion in completions.take() { responded(completion) }
            if stop.isSet && stoppingSince == nil {
                stoppingSince = .now
                logger.info("stopping: finishing deliveries in flight", metadata: ["drains": "\(entries.count)"])
            }
            if let since = stoppingSince {
                if entries.isEmpty { break }
                if transfers.isEmpty && ContinuousClock.now - since > Self.stopGrace {
                    logger.error("stopping with outcomes unrecorded (database unavailable); their batches are resent after the lease",
                                 metadata: ["drains": "\(entries.count)"])
                    break
                }
            }
            if retry.mayTry() { cycle() }
            metrics.inFlight.record(entries.count)
            metrics.databaseUp.record(retry.isDown || store == nil ? 0 : 1)
            health.cycled(database: store == nil || retry.isDown ? "database unavailable"
                                    : retry.lastTryFailed ? "database statements failing (see the log)" : nil)
            completions.wait(seconds: secondsUntilNextWork())
        }
        store?.discardPrefetch()
        if let store { try? store.unregister() }
        sends.close()
    }

    /// One pass over the database work: outcomes first (they free room), then claims, then
    /// the heartbeat.
    private func cycle() {
        do {
            let db = try connectedStore()
            discardStalePrefetch(db)
            if retry.isDown { try db.ping() }  // "restored" only once the database answers
            try recordOutcomes(db)
            if stoppingSince == nil && entries.count < config.concurrency && ContinuousClock.now >= nextClaimAt {
                try claimAndStart(db)
            }
            if ContinuousClock.now >= nextHeartbeatAt {
                try db.heartbeat(host: host, pid: pid, inFlight: entries.count)
                // Every 2 s, so a database that went away is noticed (and /readyz says so) within
                // that even while every claimed drain waits on its endpoint.
                nextHeartbeatAt = .now + .seconds(2)
                try sampleWatermark(db)
            }
            retry.succeeded(logger: logger)
        } catch let error as StoreError {
            metrics.databaseErrors.increment()
            retry.failed(error, logger: logger)
            abandonUnsent()
        } catch {
            logger.error("unexpected error", metadata: ["error": "\(error)"])
        }
    }

    /// How long the oldest running transaction has held the delivery watermark (0 when none
    /// runs), to within the 2 s between samples.
    private func sampleWatermark(_ db: DeliveryStore) throws {
        let now = ContinuousClock.now
        let w = try db.watermark()
        if w.xmin == w.xmax {
            watermark = nil
            metrics.watermarkAge.record(0)
            return
        }
        if watermark?.xmin != w.xmin { watermark = (w.xmin, now) }
        let held = now - (watermark?.since ?? now)
        metrics.watermarkAge.record(Double(held.components.seconds) + Double(held.components.attoseconds) / 1e18)
    }

    private func connectedStore() throws -> DeliveryStore {
        if let store { return store }
        let created = try DeliveryStore.connect(url: config.databaseURL, readURL: config.readDatabaseURL,
                                                workerName: config.name, transactionPooling: config.transactionPooling)
        try created.register(host: host, pid: pid)
        store = created
        return created
    }

    private func secondsUntilNextWork() -> Double {
        if !outcomes.isEmpty && retry.mayTry() { return 0 }
        var next = min(nextClaimAt, nextHeartbeatAt)
        if !retry.mayTry() { next = retry.nextTry }
        let d = next - ContinuousClock.now
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        // Short enough to notice SIGTERM promptly; completions end the wait at once.
        return min(max(seconds, 0), 0.1)
    }

    // MARK: - Claims

    private func claimAndStart(_ db: DeliveryStore) throws {
        let room = config.concurrency - entries.count
        let now = ContinuousClock.now
        leftToOthers = leftToOthers.filter { $0.value > now }
        // Drains this worker still holds are never claimed again by it (a lease that ran out
        // during a stall would otherwise hand a held drain a second entry).
        var claimed = try metrics.time(metrics.claimDuration) {
            try db.claim(limit: room, leaseSeconds: config.lease, excluding: Array(leftToOthers.keys) + Array(entries.keys))
        }
        metrics.claims.increment()
        // A full claim means more may be due: claim again at once; otherwise poll shortly.
        nextClaimAt = .now + (claimed.count == room ? .zero : .milliseconds(Int(min(config.interval / 4, 0.25) * 1000)))
        let unreadable = claimed.filter { !canReadSecret(of: $0) }
        if !unreadable.isEmpty {
            try db.releaseIdle(unreadable, intervalSeconds: 0)
            let ids = Set(unreadable.map(\.id))
            claimed.removeAll { ids.contains($0.id) }
        }
        try endNeedlessFilters(of: &claimed, db)
        for drain in claimed {
            entries[drain.id] = Entry(drain: drain, machine: DrainDelivery(claim: .init(
                samplingRate: drain.samplingRate, pendingLines: drain.pendingLines, filtering: drain.filtering)))
        }
        var start = 0
        while start < claimed.count {
            var end = start + 1, lines = claimed[start].samplingRate
            while end < claimed.count, end - start < readGroupSize,
                  end - start < Self.readGroupSizes.lowerBound || lines + claimed[end].samplingRate <= Self.readGroupLines {
                lines += claimed[end].samplingRate
                end += 1
            }
            let group = claimed[start..<end]
            start = end
            try perform(group.map { drain in (drain.id, update(drain.id) { $0.machine.start(stopping: stop.isSet) }) }, db)
        }
    }

    /// New drains whose filter has nothing to drop lose it in one statement, instead of a skip
    /// statement each (§2.8). Only a shortcut: a lost connection or a timeout ends the cycle as
    /// any statement's would; any other failure (a worker started before `migrate`, say) is
    /// logged, and the skip steps pass the filtered rows as before.
    private func endNeedlessFilters(of claimed: inout [ClaimedDrain], _ db: DeliveryStore) throws(StoreError) {
        do throws(StoreError) {
            let ended = try db.endNeedlessFilters(among: claimed)
            for i in claimed.indices where ended.contains(claimed[i].id) { claimed[i].filtering = false }
            if !ended.isEmpty { logger.debug("ended needless new-drain filters", metadata: ["drains": "\(ended.count)"]) }
        } catch {
            if error.isConnectionLoss || error.isTransient { throw error }
            logger.warning("could not end needless new-drain filters; the skip steps pass the rows instead",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Sizes the next read group from the largest batch a read just found (nil: none).
    private func readGroupFound(largestBatch: Int?) {
        guard let largestBatch else { return }
        let fits = Self.readGroupBytes / max(largestBatch, 1)
        readGroupSize = min(max(min(fits, readGroupSize * 2), Self.readGroupSizes.lowerBound), Self.readGroupSizes.upperBound)
    }

    /// Carries out drains' actions, feeding each result back to its machine until every drain
    /// waits on something else (the wire, the outcome queue) or is done. Reads, attempt starts
    /// and releases of several drains go to the database as one statement each.
    private func perform(_ work: [(id: String, action: DrainDelivery.Action)], _ db: DeliveryStore) throws {
        var work = work
        while !work.isEmpty {
            var next: [(id: String, action: DrainDelivery.Action)] = []
            var reads: [String] = [], begins: [String] = [], releaseNow: [String] = [], releaseLater: [String] = []
            for (id, action) in work {
                guard let entry = entries[id] else { continue }
                switch action {
                case .skipFiltered:
                    let skip = try db.skipFiltered(entry.drain)
                    logger.debug("passed filtered rows", metadata: ["drain": "\(id)", "rows": "\(skip.passed)"])
                    next.append((id, update(id) { $0.machine.skipped(moreToScan: skip.moreToScan) }))
                case .read:
                    reads.append(id)
                case .dropPendingBatch(let missing):
                    try db.dropPendingBatch(entry.drain, missingLines: missing)
                    logger.warning("pending batch lost rows before delivery (retention); going on with the next retained line",
                                   metadata: ["drain": "\(id)", "missing_lines": "\(missing)"])
                    next.append((id, update(id) { $0.machine.droppedPendingBatch() }))
                case .release(let dueNow):
                    if dueNow { releaseNow.append(id) } else { releaseLater.append(id) }
                case .beginAttempt:
                    begins.append(id)
                case .send:
                    send(id)
                case .readAhead:
                    try readAhead(id, db)
                case .advance, .record:
                    outcomes.append(id)
                case .waitForDatabase:
                    break
                case .finish:
                    entries.removeValue(forKey: id)
                }
            }
            if !reads.isEmpty {
                let (batches, notReplayed) = try metrics.time(metrics.readDuration) {
                    try db.readBatches(reads.compactMap { entries[$0]?.drain })
                }
                for id in reads where notReplayed.contains(id) {
                    logger.debug("standby has not replayed the pending batch yet", metadata: ["drain": "\(id)"])
                    next.append((id, update(id) { $0.machine.standbyBehind() }))
                }
                readGroupFound(largestBatch: batches.values.map(\.bytes).max())
                for id in reads where !notReplayed.contains(id) {
                    entries[id]?.batch = batches[id]
                    next.append((id, update(id) { $0.machine.read(lines: batches[id]?.lines, cutByBytes: batches[id]?.cutByBytes ?? false) }))
                }
            }
            if !begins.isEmpty {
                let items = begins.compactMap { id in entries[id].flatMap { e in e.batch.map { (drain: e.drain, batch: $0) } } }
                let started = try db.beginAttempts(items)
                let readAheadAllowed = self.readAheadAllowed
                for id in begins {
                    let attempt = started[id]
                    if attempt == nil { metrics.leasesLost.increment() }  // lease lost, or disabled or deleted since the claim
                    entries[id]?.attempt = attempt
                    let actions = update(id) { $0.machine.attemptStarted(attempt?.attempt, readAheadAllowed: readAheadAllowed) }
                    // On the wire before any other statement can fail: a begun attempt is sent.
                    for action in actions where action == .send { send(id) }
                    next += actions.filter { $0 != .send }.map { (id, $0) }
                }
            }
            for (ids, dueNow) in [(releaseNow, true), (releaseLater, false)] where !ids.isEmpty {
                try db.releaseIdle(ids.compactMap { entries[$0]?.drain }, intervalSeconds: dueNow ? 0 : config.interval)
                for id in ids { next.append((id, update(id) { $0.machine.released() })) }
                if dueNow { nextClaimAt = .now }  // they go on at once
            }
            work = next
        }
    }

    /// Whether this worker can decrypt the drain's secret; if not, leaves the drain to others.
    private func canReadSecret(of drain: ClaimedDrain) -> Bool {
        plainSecret(drain.id, stored: drain.secret) != nil
    }

    /// The plaintext of a stored secret, or nil (logged, naming the key id) when this worker
    /// lacks its key: the drain is then left to workers that have it for a while (§5).
    private func plainSecret(_ id: String, stored: String) -> String? {
        do {
            return try SecretKeys.open(stored, with: config.secretKeys)
        } catch {
            logger.error("cannot decrypt the drain's secret; leaving it to workers that have the key",
                         metadata: ["drain": "\(id)", "key_id": "\(SecretKeys.keyID(of: stored) ?? "-")", "error": "\(error)"])
            leftToOthers[id] = .now + Self.leaveToOthersFor
            return nil
        }
    }

    /// Hands the batch to the HTTP loop, signed with the configuration its attempt started with.
    private func send(_ id: String) {
        guard var entry = entries[id], let attempt = entry.attempt, var batch = entry.batch else { return }
        // Readable at the claim; a rotation to a key this worker lacks could intervene. Then
        // nothing is sent and nothing counted: the lease expires and a worker with the key goes on.
        guard let secret = plainSecret(id, stored: attempt.secret) else {
            entries.removeValue(forKey: id)
            return
        }
        nextTransferID += 1
        let body = batch.handOff()  // curl keeps the only copy while it is on the wire
        entry.batch = batch
        entries[id] = entry
        transfers[nextTransferID] = id
        // Signed here, not on the HTTP thread: on 2 cores shared with PostgreSQL, a second busy
        // thread slowed the firehose (0.46-0.48 of \copy signing here, 0.39-0.41 there).
        let delivery = metrics.time(metrics.signDuration) {
            SignedDelivery(url: attempt.url, secret: secret, body: body, deliveryID: attempt.deliveryID,
                           attempt: attempt.attempt, timeout: config.deliveryTimeout)
        }
        sends.post(delivery, id: nextTransferID)
    }

    /// Reads the batch after the one on the wire, so a 2xx chains straight into it: from the
    /// prefetch when one was started for it, else now. Then, when that batch is full (more is
    /// waiting), starts reading the one after it on the prefetch connection, so PostgreSQL
    /// reads batch N+2 while this thread records N and sends N+1. The prefetched batch is used
    /// only through `advance`, which checks the lease, the drain and its rate again.
    private func readAhead(_ id: String, _ db: DeliveryStore) throws {
        guard let entry = entries[id], let batch = entry.batch else { return }
        let prefetchAllowed = !stop.isSet && readAheadAllowed
        let next = try metrics.time(metrics.readAheadDuration) { () throws(StoreError) -> Batch? in
            if let prefetched = db.takePrefetch(after: batch, drain: entry.drain) { return prefetched }
            return try db.readBatch(after: batch, drain: entry.drain)
        }
        entries[id]?.next = next
        entries[id]?.machine.readAheadFinished(lines: next?.lines)
        if let next, next.lines >= entry.drain.samplingRate || next.cutByBytes, prefetchAllowed {
            db.startPrefetch(after: next, drain: entry.drain)
        }
    }

    /// A prefetch whose drain no longer waits for it (the 2xx was recorded on its own, a
    /// failure, the drain let go) is waited out, so the connection is free for the next one.
    private func discardStalePrefetch(_ db: DeliveryStore) {
        guard let id = db.prefetchingDrain else { return }
        if stop.isSet || entries[id]?.next == nil { db.discardPrefetch() }
    }

    // MARK: - Outcomes

    private func responded(_ completion: EndpointClient.Completion) {
        guard let id = transfers.removeValue(forKey: completion.id), let entry = entries[id] else { return }
        let result = DeliveryOutcome.classify(completion.answer, failuresSoFar: entry.drain.consecutiveFailures,
                                              backoff: config.backoff)
        let action = update(id) { $0.machine.responded(result, stopping: stop.isSet) }
        if action != .advance { entries[id]?.next = nil }
        outcomes.append(id)  // .advance or .record: both wait their turn for the database
    }

    /// Writes queued outcomes in order. On a connection loss (or a timeout, a deadlock) the
    /// outcome stays at the head of the queue for the next try; a statement the database refuses
    /// for another reason is given up (its lease expires and the same batch is resent) rather
    /// than retried forever. Plain 2xx records at the head of the queue go as one statement.
    private func recordOutcomes(_ db: DeliveryStore) throws {
        while !outcomes.isEmpty {
            let group = takeLeadingSuccesses()
            if !group.isEmpty {
                try record(group, db)
                continue
            }
            guard !outcomes.isEmpty else { return }
            let id = outcomes.removeFirst()
            guard let entry = entries[id], entry.machine.outcome != nil else { continue }
            do {
                if case .advancing = entry.machine.state {
                    try advance(id, db)
                } else {
                    try recordFailure(id, db)
                }
            } catch let error as StoreError where error.isTransient {
                _ = update(id) { $0.machine.databaseUnavailable() }
                entries[id]?.next = nil
                // Only an outcome still unwritten waits: after an advance was written, the failed
                // statement was the read ahead, and the next batch's own outcome comes later.
                if entries[id]?.machine.outcome != nil { outcomes.insert(id, at: 0) }
                throw error
            } catch let error as StoreError {
                if entries[id]?.machine.outcome != nil {
                    logger.error("could not record an outcome; dropped", metadata: ["drain": "\(id)", "error": "\(error)"])
                    entries.removeValue(forKey: id)
                } else {
                    // The advance was written and its batch is on the wire; only the read ahead failed.
                    logger.error("could not read the next batch ahead", metadata: ["drain": "\(id)", "error": "\(error)"])
                    entries[id]?.next = nil
                }
            }
        }
    }

    /// At most this many 2xx outcomes go to the database in one statement (and one commit).
    static let recordsPerStatement = 64

    /// Takes the plain 2xx records (not advances, not failures) at the head of the queue, up to
    /// `recordsPerStatement`, dropping stale ids met on the way.
    private func takeLeadingSuccesses() -> [DeliveryStore.Success] {
        var successes: [DeliveryStore.Success] = []
        var taken = Set<String>()
        while let id = outcomes.first, successes.count < Self.recordsPerStatement {
            guard let entry = entries[id], let (result, dueNow) = entry.machine.outcome, !taken.contains(id) else {
                outcomes.removeFirst()  // written already, or queued twice
                continue
            }
            guard case .recording = entry.machine.state, case .success(let status, let seconds) = result,
                  let batch = entry.batch, let attempt = entry.attempt else { break }
            outcomes.removeFirst()
            taken.insert(id)
            successes.append(DeliveryStore.Success(drain: entry.drain, batch: batch, attempt: attempt, status: status,
                                                   seconds: seconds, dueInSeconds: dueNow ? 0 : config.interval))
        }
        return successes
    }

    /// Writes 2xx outcomes in one statement. A transient error puts them all back at the head of
    /// the queue; another refusal is retried one drain at a time, so one refused drain does not
    /// cost the others a resend.
    private func record(_ successes: [DeliveryStore.Success], _ db: DeliveryStore) throws {
        let ids = successes.map(\.drain.id)
        let kept: Set<String>
        do {
            kept = try metrics.time(metrics.recordDuration) { () throws(StoreError) in try db.recordSuccesses(successes) }
        } catch {
            if error.isTransient {
                for id in ids {
                    _ = update(id) { $0.machine.databaseUnavailable() }
                    entries[id]?.next = nil
                }
                outcomes.insert(contentsOf: ids, at: 0)
                throw error
            }
            guard successes.count > 1 else {
                logger.error("could not record an outcome; dropped", metadata: ["drain": "\(ids[0])", "error": "\(error)"])
                entries.removeValue(forKey: ids[0])
                return
            }
            for (i, success) in successes.enumerated() {
                do {
                    try record([success], db)
                } catch {
                    outcomes.insert(contentsOf: ids[(i + 1)...], at: 1)  // behind the one put back
                    throw error
                }
            }
            return
        }
        nextClaimAt = .now
        for success in successes {
            let id = success.drain.id
            if kept.contains(id) {
                if let entry = entries[id] { countSuccess(entry, seconds: success.seconds) }
            } else {
                metrics.leasesLost.increment()
                logger.warning("lease lost; result discarded", metadata: ["drain": "\(id)"])
            }
            _ = update(id) { $0.machine.recorded() }
            entries.removeValue(forKey: id)
        }
    }

    private func advance(_ id: String, _ db: DeliveryStore) throws {
        guard let entry = entries[id], case .success(let status, let seconds)? = entry.machine.outcome?.result,
              let batch = entry.batch, let attempt = entry.attempt, let next = entry.next else { return }
        let started = stop.isSet ? nil : try metrics.time(metrics.recordDuration) {
            try db.advance(drain: entry.drain, batch: batch, attempt: attempt, status: status, seconds: seconds, next: next,
                           leaseSeconds: config.lease)
        }
        if let started {
            countSuccess(entry, seconds: seconds)
            entries[id]?.batch = next
            entries[id]?.attempt = started
            entries[id]?.next = nil
            entries[id]?.drain.consecutiveFailures = 0
        }
        let readAheadAllowed = self.readAheadAllowed
        let actions = update(id) {
            $0.machine.advanced(nextLines: next.lines, nextCutByBytes: next.cutByBytes, attempt: started?.attempt,
                                readAheadAllowed: readAheadAllowed)
        }
        if started == nil { entries[id]?.next = nil }
        try perform(actions.map { (id, $0) }, db)
    }

    /// Writes a failed attempt (2xx outcomes go in groups, `takeLeadingSuccesses`).
    private func recordFailure(_ id: String, _ db: DeliveryStore) throws {
        guard let entry = entries[id], case .failure(let status, let error, let delay, let seconds)? = entry.machine.outcome?.result,
              let batch = entry.batch, let attempt = entry.attempt else { return }
        let kept = try metrics.time(metrics.recordDuration) {
            try db.recordFailure(status: status, error: error, retryInSeconds: delay, seconds: seconds,
                                 drain: entry.drain, batch: batch, attempt: attempt)
        }
        nextClaimAt = .now
        if kept {
            metrics.recorded(success: false, lines: batch.lines, bytes: batch.bytes, seconds: seconds)
            logger.warning("delivery failed", metadata: [
                "drain": "\(id)", "attempt": "\(attempt.attempt)",
                "failures": "\(entry.drain.consecutiveFailures + 1)", "retry_in": "\(delay)", "error": "\(error)"])
        } else {
            metrics.leasesLost.increment()
            logger.warning("lease lost; result discarded", metadata: ["drain": "\(id)"])
        }
        _ = update(id) { $0.machine.recorded() }
        entries.removeValue(forKey: id)
    }

    private func countSuccess(_ entry: Entry, seconds: Double) {
        guard let batch = entry.batch else { return }
        metrics.recorded(success: true, lines: batch.lines, bytes: batch.bytes, seconds: seconds)
        logger.debug("delivered", metadata: ["drain": "\(entry.drain.id)", "lines": "\(batch.lines)",
                                             "attempt": "\(entry.attempt?.attempt ?? 0)",
                                             "http_ms": "\(Int(seconds * 1000))"])
    }

    /// After a database error outside the outcome queue: drains not yet on the wire are given
    /// up (their leases expire and they are claimed again); exchanges on the wire go on.
    private func abandonUnsent() {
        let onTheWire = Set(transfers.values)
        for (id, entry) in entries where !onTheWire.contains(id) && entry.machine.outcome == nil {
            entries.removeValue(forKey: id)
        }
    }

    /// Runs `body` on the entry of drain `id` in place and returns what it returns.
    private func update<T>(_ id: String, _ body: (inout Entry) -> T) -> T {
        body(&entries[id]!)
    }
}
