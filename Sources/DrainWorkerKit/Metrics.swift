import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// What the worker measures, recorded through swift-metrics' types and kept in a swift-prometheus
/// registry (with HELP text), which `/metrics` on `--metrics-address` renders. One instance per
/// process; the database thread records, the server thread renders.
public final class WorkerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    let claims: CoreMetrics.Counter
    let deliveries: [Bool: CoreMetrics.Counter]
    let deliveredLines: [Bool: CoreMetrics.Counter]
    let bytesDelivered: CoreMetrics.Counter
    let deliveryDuration: CoreMetrics.Timer
    let batchLines: Recorder
    let batchBytes: Recorder
    let claimDuration: CoreMetrics.Timer
    let readDuration: CoreMetrics.Timer
    let readAheadDuration: CoreMetrics.Timer
    let signDuration: CoreMetrics.Timer
    let recordDuration: CoreMetrics.Timer
    let inFlight: Recorder
    let watermarkAge: Recorder
    let databaseErrors: CoreMetrics.Counter
    let leasesLost: CoreMetrics.Counter
    let databaseUp: Recorder

    public init(worker: String) {
        let labels = [("worker", worker)]
        let r = registry
        func describe(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        func counter(_ name: String, _ help: String, _ extra: [(String, String)] = []) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: name, dimensions: labels + extra,
                                handler: r.makeCounter(descriptor: describe(name, help), labels: labels + extra))
        }
        /// A gauge: a recorder that keeps only the last value.
        func gauge(_ name: String, _ help: String) -> Recorder {
            Recorder(label: name, dimensions: labels, aggregate: false,
                     handler: r.makeGauge(descriptor: describe(name, help), labels: labels))
        }
        func timer(_ name: String, _ help: String, _ buckets: [Duration]) -> CoreMetrics.Timer {
            CoreMetrics.Timer(label: name, dimensions: labels,
                              handler: r.makeDurationHistogram(descriptor: describe(name, help), labels: labels, buckets: buckets))
        }
        func histogram(_ name: String, _ help: String, _ buckets: [Double]) -> Recorder {
            Recorder(label: name, dimensions: labels, aggregate: true,
                     handler: r.makeValueHistogram(descriptor: describe(name, help), labels: labels, buckets: buckets))
        }
        let outcomeHelp = "Delivery attempts recorded, by outcome (success: a 2xx; failure: anything else)."
        let linesHelp = "Log lines in recorded delivery attempts, by outcome."
        claims = counter("logdrain_claims_total", "Claim statements run (each claims up to the free concurrency).")
        deliveries = [true: counter("logdrain_deliveries_total", outcomeHelp, [("outcome", "success")]),
                      false: counter("logdrain_deliveries_total", outcomeHelp, [("outcome", "failure")])]
        deliveredLines = [true: counter("logdrain_lines_total", linesHelp, [("outcome", "success")]),
                          false: counter("logdrain_lines_total", linesHelp, [("outcome", "failure")])]
        bytesDelivered = counter("logdrain_bytes_delivered_total", "Body bytes of successful deliveries.")
        deliveryDuration = timer("logdrain_delivery_duration_seconds", "HTTP exchange time of a delivery attempt, request to response.",
                                 [.milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                  .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)])
        batchLines = histogram("logdrain_batch_lines", "Lines per delivered batch.", [1, 10, 50, 100, 500, 1000, 2500, 5000])
        batchBytes = histogram("logdrain_batch_bytes", "Body bytes per delivered batch.",
                               [1024, 16384, 65536, 262_144, 1_048_576, 4_194_304])
        claimDuration = timer("logdrain_claim_duration_seconds", "Time of one claim statement.",
                              [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                               .milliseconds(100), .milliseconds(250), .seconds(1)])
        readDuration = timer("logdrain_read_duration_seconds", "Time to read and encode one group of batches.",
                             [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                              .milliseconds(100), .milliseconds(250), .seconds(1)])
        let stageBuckets: [Duration] = [.microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(10),
                                        .milliseconds(25), .milliseconds(50), .milliseconds(100), .seconds(1)]
        readAheadDuration = timer("logdrain_read_ahead_duration_seconds",
                                  "Time to read and encode one drain's next batch while the one before is on the wire (the rest of a prefetch, or a read).",
                                  stageBuckets)
        signDuration = timer("logdrain_sign_duration_seconds", "Time to sign one batch (HMAC-SHA256 of its body).", stageBuckets)
        recordDuration = timer("logdrain_record_duration_seconds",
                               "Time of one outcome statement: a group of 2xx answers, an advance to the next batch, or a failure.",
                               stageBuckets)
        inFlight = gauge("logdrain_drains_in_flight", "Drains this worker holds (claimed and not yet recorded).")
        watermarkAge = gauge("logdrain_watermark_age_seconds",
                             "How long the oldest running transaction has held the delivery watermark (0 when none runs): lines committed after it began wait until it ends.")
        databaseErrors = counter("logdrain_database_errors_total", "Database errors met by the delivery loop.")
        leasesLost = counter("logdrain_lease_losses_total", "Results discarded because the lease was lost (another worker took the drain).")
        databaseUp = gauge("logdrain_database_up", "1 while the database answers the delivery loop, else 0.")
    }

    func recorded(success: Bool, lines: Int, bytes: Int, seconds: Double) {
        deliveries[success]?.increment()
        deliveredLines[success]?.increment(by: lines)
        deliveryDuration.recordNanoseconds(Int64(seconds * 1e9))
        if success {
            bytesDelivered.increment(by: bytes)
            batchLines.record(lines)
            batchBytes.record(bytes)
        }
    }

    /// Times `body` into `timer`.
    func time<T, E: Error>(_ timer: CoreMetrics.Timer, _ body: () throws(E) -> T) throws(E) -> T {
        let start = ContinuousClock.now
        defer { timer.recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1))) }
        return try body()
    }

    public func render() -> String { registry.emitToString() }
}

/// What `/healthz` and `/readyz` answer from: the delivery loop's last turn and whether the
/// database answered it. Written by the database thread, read by the server's.
public final class WorkerHealth: Sendable {
    private struct State {
        var lastCycle = ContinuousClock.now
        /// Why the database side is not working, or nil while it is.
        var databaseProblem: String? = "database not connected yet"
    }
    private let state = Mutex(State())
    /// The loop turns at least every 2 s (the heartbeat); silence for this long means it hangs.
    static let stallLimit: Duration = .seconds(5)

    public init() {}

    /// A turn of the delivery loop; `database` says what is wrong with the database side, if anything.
    func cycled(database problem: String?) {
        state.withLock { $0.lastCycle = .now; $0.databaseProblem = problem }
    }

    /// Ready: the loop turned recently and the database answered its last statement.
    public var readiness: (ready: Bool, reason: String) {
        let s = state.withLock { $0 }
        if ContinuousClock.now - s.lastCycle > Self.stallLimit { return (false, "delivery loop has not turned for over 5 s") }
        if let problem = s.databaseProblem { return (false, problem) }
        return (true, "ok")
    }
}
