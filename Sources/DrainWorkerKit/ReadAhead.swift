import Dispatch
import DrainStore
import Foundation
import Postgres
import Synchronization

/// Reads a drain's next batch on a thread (and database connection) of its own while the
/// current batch is on the wire, so that the delivery loop's thread keeps signing and sending
/// instead of waiting for PostgreSQL. Results are picked up by key.
final class ReadAhead: Sendable {
    struct Job: Sendable {
        let key: Int
        let drain: ClaimedDrain
        let after: Batch
    }

    private struct State {
        var jobs: [Job] = []
        var results: [Int: Batch?] = [:]
        var forgotten: Set<Int> = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let jobReady = DispatchSemaphore(value: 0)
    private let resultReady = DispatchSemaphore(value: 0)

    init(databaseURL: String, workerName: String) {
        let thread = Thread { [self] in loop(databaseURL: databaseURL, workerName: workerName) }
        thread.name = "read-ahead"
        thread.start()
    }

    func submit(_ job: Job) {
        state.withLock { $0.jobs.append(job) }
        jobReady.signal()
    }

    /// The batch read for `key` (nil when nothing was readable or the read failed), waiting
    /// at most `timeout` seconds for it.
    func take(_ key: Int, timeout: Double) -> Batch? {
        let deadline = DispatchTime.now() + timeout
        while true {
            let found: Batch?? = state.withLock { $0.results.removeValue(forKey: key) }
            if let found { return found }
            if resultReady.wait(timeout: deadline) == .timedOut {
                forget(key)
                return nil
            }
        }
    }

    /// Drops the result for `key`, now or when it arrives.
    func forget(_ key: Int) {
        state.withLock { s in
            if s.results.removeValue(forKey: key) == nil { s.forgotten.insert(key) }
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
        jobReady.signal()
    }

    private func loop(databaseURL: String, workerName: String) {
        var store: DeliveryStore?
        while true {
            jobReady.wait()
            let next: Job? = state.withLock { s in s.stopped ? nil : (s.jobs.isEmpty ? nil : s.jobs.removeFirst()) }
            if state.withLock({ $0.stopped }) { return }
            guard let job = next else { continue }
            var batch: Batch?
            do {
                if store == nil {
                    store = DeliveryStore(db: try PostgresConnection(conninfo: databaseURL, setup: DeliveryStore.sessionSetup),
                                          workerName: workerName)
                }
                batch = try store?.readBatch(after: job.after, drain: job.drain)
            } catch {
                // The delivery loop then simply claims the drain again; no need to retry here.
                store = nil
            }
            state.withLock { s in
                if s.forgotten.remove(job.key) == nil { s.results[job.key] = .some(batch) }
            }
            resultReady.signal()
        }
    }
}
