import DrainCore
import DrainStore
import Delivery
import HTTPClient
import Logging
import Postgres
import Foundation

/// One drain-worker process: claims due drains, reads their batches, delivers them
/// concurrently through one curl_multi loop, and records each outcome under its lease.
/// Everything runs on the thread that calls `run()` (not Swift's cooperative pool): libpq and
/// curl calls block only this loop, and curl keeps every transfer moving in between.
public final class Worker {
    private let config: WorkerConfiguration
    private let logger: Logger
    private let stop: StopFlag
    public let metrics = WorkerMetrics()
    private let host: String
    private let pid = Int(ProcessInfo.processInfo.processIdentifier)

    private struct InFlight {
        var drain: ClaimedDrain
        var batch: Batch
        let attempt: StartedAttempt
        /// Set when the batch after this one was requested from ReadAhead.
        var readingAhead = false
    }

    private var inFlight: [Int: InFlight] = [:]
    private let readAhead: ReadAhead
    /// Outcomes that could not be written because the database was unreachable: written once
    /// it is back (still fenced by the lease token), so a restart does not cause a resend.
    private var unrecorded: [(flight: InFlight, result: DeliveryResult)] = []
    private var nextTransferID = 0
    private var nextClaimAt = ContinuousClock.now
    private var nextHeartbeatAt = ContinuousClock.now
    private var databaseDown = false
    private var databaseRetryDelay = 0.25

    public init(configuration: WorkerConfiguration, logger: Logger, stop: StopFlag) {
        self.config = configuration
        self.logger = logger
        self.stop = stop
        self.host = ProcessInfo.processInfo.hostName
        self.readAhead = ReadAhead(databaseURL: configuration.databaseURL, workerName: configuration.name)
    }

    /// Runs until SIGTERM/SIGINT, then finishes what is in flight and returns.
    public func run() throws {
        if let address = config.metricsAddress {
            try MetricsServer.start(address: address, metrics: metrics, worker: config.name)
        }
        let client = HTTPMultiClient(configuration: HTTPClientConfiguration(
            caFile: config.caFile, allowPrivateAddresses: config.allowPrivateEndpoints,
            userAgent: DeliveryHeaders.userAgent))
        var store = try connectWithRetry()
        logger.info("worker started", metadata: ["worker": "\(config.name)", "concurrency": "\(config.concurrency)",
                                                 "lease": "\(config.lease)", "interval": "\(config.interval)"])
        while !(stop.isSet && inFlight.isEmpty && unrecorded.isEmpty) {
            do {
                guard let current = store else {
                    store = try connectWithRetry()
                    continue
                }
                while let pending = unrecorded.first {
                    do {
                        try settle(pending.flight, pending.result, store: current, client: client)
                    } catch let error as PostgresError where !error.isConnectionLoss {
                        // Not an outage this time: give the result up (its lease expires and the
                        // same batch is resent) rather than retry it forever.
                        logger.error("could not record an outcome; dropped", metadata: ["drain": "\(pending.flight.drain.id)", "error": "\(error)"])
                    }
                    unrecorded.removeFirst()
                }
                if !stop.isSet && inFlight.count < config.concurrency && ContinuousClock.now >= nextClaimAt {
                    try claimAndStart(current, client: client)
                }
                let waitMs = inFlight.isEmpty ? millisecondsUntil(nextClaimAt, cap: 100) : 20
                let done = client.poll(timeoutMs: waitMs)
                for completion in done {
                    // Each outcome on its own: a database error loses that one result (its lease
                    // expires and the same batch is resent), never the others.
                    do { try finish(completion, store: current, client: client) } catch let error as PostgresError {
                        metrics.add(.databaseErrors)
                        handleDatabaseError(error)
                    }
                }
                if ContinuousClock.now >= nextHeartbeatAt {
                    try current.heartbeat(host: host, pid: pid, inFlight: inFlight.count)
                    nextHeartbeatAt = ContinuousClock.now + .seconds(5)
                }
                metrics.set(.inFlight, inFlight.count)
                databaseRetryDelay = 0.25
                if databaseDown {
                    databaseDown = false
                    logger.notice("database connection restored")
                }
            } catch let error as PostgresError {
                metrics.add(.databaseErrors)
                handleDatabaseError(error)
                if stop.isSet { break }
            }
        }
        readAhead.stop()
        // In-flight results are recorded above; anything still leased expires on its own.
        if let store { try? store.unregister() }
        logger.info("worker stopped", metadata: ["worker": "\(config.name)"])
    }

    private func connectWithRetry() throws -> DeliveryStore? {
        do {
            let db = try PostgresConnection(conninfo: config.databaseURL, setup: DeliveryStore.sessionSetup)
            let store = DeliveryStore(db: db, workerName: config.name)
            try store.register(host: host, pid: pid)
            return store
        } catch let error as PostgresError {
            handleDatabaseError(error)
            return nil
        }
    }

    /// Logs once per change of state and backs off; never a crash loop.
    private func handleDatabaseError(_ error: PostgresError) {
        if error.isConnectionLoss {
            if !databaseDown {
                logger.error("database unavailable; retrying", metadata: ["error": "\(error)"])
                databaseDown = true
            }
        } else {
            logger.error("database error", metadata: ["error": "\(error)"])
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(databaseRetryDelay * 1000))
        while ContinuousClock.now < deadline && !stop.isSet { usleep(50_000) }
        databaseRetryDelay = min(databaseRetryDelay * 2, 5)
    }

    private func claimAndStart(_ store: DeliveryStore, client: HTTPMultiClient) throws {
        let room = config.concurrency - inFlight.count
        let claimed = try store.claim(limit: room, leaseSeconds: config.lease)
        metrics.add(.claims)
        // A full claim means more may be due: claim again at once; otherwise poll shortly.
        nextClaimAt = ContinuousClock.now + (claimed.count == room ? .zero : .milliseconds(Int(min(config.interval / 4, 0.25) * 1000)))
        // A few drains at a time, each group sent before the next is read: 64 drains x 5000
        // lines read at once would hold every batch twice (ours and curl's) at the peak.
        for start in stride(from: 0, to: claimed.count, by: Self.drainsPerRead) {
            let group = claimed[start..<min(start + Self.drainsPerRead, claimed.count)]
            let batches = try store.readBatches(group)
            try store.releaseIdle(group.filter { batches[$0.id] == nil }, intervalSeconds: config.interval)
            let ready = group.compactMap { d in batches[d.id].map { (drain: d, batch: $0) } }
            let started = try store.beginAttempts(ready)
            for item in ready {
                guard let attempt = started[item.drain.id] else { metrics.add(.leasesLost); continue }
                send(InFlight(drain: item.drain, batch: item.batch, attempt: attempt), client: client)
            }
            client.kick()
        }
        try prefetch(store, client: client)
    }

    static let readAheadMaxInFlight = 4
    static let drainsPerRead = 8

    private func send(_ flight: InFlight, client: HTTPMultiClient) {
        var flight = flight
        nextTransferID += 1
        let body = flight.batch.handOff()  // curl keeps the only copy while it is on the wire
        inFlight[nextTransferID] = flight
        client.start(DeliveryRequest.make(url: flight.drain.url, secret: flight.drain.secret, body: body,
                                          deliveryID: flight.attempt.deliveryID, attempt: flight.attempt.attempt,
                                          timeout: config.deliveryTimeout), id: nextTransferID)
    }

    /// Starts reading the next batch of every full batch on the wire (on the ReadAhead thread),
    /// so that on its 2xx the drain goes on at once (see `settle`) instead of waiting for a
    /// claim and a read.
    private func prefetch(_ store: DeliveryStore, client: HTTPMultiClient) throws {
        // Read-ahead pays when a few drains carry a backlog; with many in flight the database
        // and the wire are busy anyway, and each read-ahead batch is memory held twice.
        guard !stop.isSet, inFlight.count <= Self.readAheadMaxInFlight else { return }
        for (key, flight) in inFlight where !flight.readingAhead && flight.batch.lines >= flight.drain.samplingRate {
            inFlight[key]?.readingAhead = true
            readAhead.request(flight.drain, after: flight.batch)
        }
    }

    private func finish(_ completion: HTTPMultiClient.Completion, store: DeliveryStore, client: HTTPMultiClient) throws {
        guard var flight = inFlight.removeValue(forKey: completion.id) else { return }
        let result = DeliveryOutcome.classify(completion.result, failuresSoFar: flight.drain.consecutiveFailures,
                                              backoff: config.backoff)
        var next: Batch?
        if flight.readingAhead {
            flight.readingAhead = false
            if case .success = result, !stop.isSet {
                next = readAhead.take(flight.drain, after: flight.batch, timeout: config.deliveryTimeout)
            } else {
                readAhead.forget(flight.drain)
            }
        }
        do {
            try settle(flight, result, next: next, store: store, client: client)
        } catch let error as PostgresError where error.isConnectionLoss {
            unrecorded.append((flight, result))  // after an outage, the next batch starts afresh
            throw error
        }
    }

    /// Records an outcome; on a 2xx with the next batch already read, sends that at once.
    private func settle(_ flight: InFlight, _ result: DeliveryResult, next: Batch? = nil,
                        store: DeliveryStore, client: HTTPMultiClient) throws {
        if case .success(let status, let seconds) = result, let next, !stop.isSet,
           let continued = try store.advance(drain: flight.drain, batch: flight.batch, attempt: flight.attempt,
                                             status: status, seconds: seconds, next: next, leaseSeconds: config.lease) {
            countSuccess(flight, seconds: seconds)
            var drain = flight.drain
            drain.url = continued.url
            drain.secret = continued.secret
            drain.consecutiveFailures = 0
            send(InFlight(drain: drain, batch: next, attempt: continued.attempt), client: client)
            try prefetch(store, client: client)
            return
        }
        readAhead.forget(flight.drain)  // the chain ends here: drop anything read further
        // More waiting (a full batch, or a retried one): due again at once.
        let more = flight.batch.lines >= flight.drain.samplingRate || flight.attempt.attempt > 1
        let kept = try store.record(result, drain: flight.drain, batch: flight.batch, attempt: flight.attempt,
                                    nextDueAfterSuccess: more ? 0 : config.interval)
        nextClaimAt = ContinuousClock.now
        if !kept {
            metrics.add(.leasesLost)
            logger.warning("lease lost; result discarded", metadata: ["drain": "\(flight.drain.id)"])
            return
        }
        switch result {
        case .success(_, let seconds):
            countSuccess(flight, seconds: seconds)
        case .failure(_, let error, let delay, _):
            metrics.add(.batchesFailed)
            logger.warning("delivery failed", metadata: [
                "drain": "\(flight.drain.id)", "attempt": "\(flight.attempt.attempt)",
                "failures": "\(flight.drain.consecutiveFailures + 1)", "retry_in": "\(delay)", "error": "\(error)"])
        }
    }

    private func countSuccess(_ flight: InFlight, seconds: Double) {
        metrics.add(.batchesSent)
        metrics.add(.linesDelivered, flight.batch.lines)
        metrics.add(.bytesDelivered, flight.batch.bytes)
        logger.debug("delivered", metadata: ["drain": "\(flight.drain.id)", "lines": "\(flight.batch.lines)",
                                             "attempt": "\(flight.attempt.attempt)",
                                             "http_ms": "\(Int(seconds * 1000))"])
    }

    private func millisecondsUntil(_ instant: ContinuousClock.Instant, cap: Int) -> Int {
        let d = instant - ContinuousClock.now
        let ms = Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
        return max(0, min(cap, ms))
    }
}
