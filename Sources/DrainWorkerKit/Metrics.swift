import Synchronization

/// Counters the worker exposes on `--metrics-address` in Prometheus' text format.
public final class WorkerMetrics: Sendable {
    public enum Counter: String, CaseIterable, Sendable {
        case claims = "logdrain_claims_total"
        case batchesSent = "logdrain_batches_delivered_total"
        case batchesFailed = "logdrain_batches_failed_total"
        case linesDelivered = "logdrain_lines_delivered_total"
        case bytesDelivered = "logdrain_bytes_delivered_total"
        case leasesLost = "logdrain_leases_lost_total"
        case databaseErrors = "logdrain_database_errors_total"
        case inFlight = "logdrain_in_flight"

        var type: String { self == .inFlight ? "gauge" : "counter" }
    }

    private let values = Mutex<[Counter: Int]>([:])

    public init() {}

    func add(_ counter: Counter, _ n: Int = 1) { values.withLock { $0[counter, default: 0] += n } }
    func set(_ counter: Counter, _ n: Int) { values.withLock { $0[counter] = n } }

    public func render(worker: String) -> String {
        let snapshot = values.withLock { $0 }
        let label = "{worker=\"\(String(worker.map { $0 == "\"" ? "'" : $0 }))\"}"
        return Counter.allCases.map { "# TYPE \($0.rawValue) \($0.type)\n\($0.rawValue)\(label) \(snapshot[$0] ?? 0)\n" }.joined()
    }
}
