import Dispatch
import DrainStore
import Foundation
import Postgres
import Synchronization

/// Reads drains' next batches on a thread (and database connection) of its own while the
/// current batch is on the wire, so the delivery loop's thread keeps signing and sending
/// instead of waiting for PostgreSQL. A full batch read this way also starts the read of the
/// one after it, so for a drain with a backlog the reads run back to back.
/// Batches are keyed by the drain, its lease token and the position they follow; every read
/// is fenced by the token like any other write, so a stale batch can never be sent.
final class ReadAhead: Sendable {
    struct Position: Hashable, Sendable {
        let drain: String
        let token: Int64
        let xact: String
        let id: Int64

        init(_ drain: ClaimedDrain, after batch: Batch) {
            self.drain = drain.id
            self.token = drain.leaseToken
            self.xact = batch.endXact
            self.id = batch.endID
        }
    }

    private struct Job: Sendable {
        let position: Position
        let drain: ClaimedDrain
        let after: Batch
        let speculative: Bool
    }

    private struct State {
        var jobs: [Job] = []
        /// Requested or speculated and not yet taken or forgotten.
        var wanted: Set<Position> = []
        var results: [Position: Batch?] = [:]
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

    /// Asks for the batch after `batch`; a no-op when it is already read or being read.
    func request(_ drain: ClaimedDrain, after batch: Batch) {
        let position = Position(drain, after: batch)
        let queued = state.withLock { s in
            guard s.wanted.insert(position).inserted else { return false }
            s.jobs.append(Job(position: position, drain: drain, after: batch.withoutBody(), speculative: false))
            return true
        }
        if queued { jobReady.signal() }
    }

    /// The batch after `batch` (nil when nothing was readable, the read failed, or it was
    /// never requested), waiting at most `timeout` seconds for it.
    func take(_ drain: ClaimedDrain, after batch: Batch, timeout: Double) -> Batch? {
        let position = Position(drain, after: batch)
        let deadline = DispatchTime.now() + timeout
        while true {
            let (found, wanted): (Batch??, Bool) = state.withLock { s in
                let r = s.results.removeValue(forKey: position)
                if r != nil { s.wanted.remove(position) }
                return (r, s.wanted.contains(position))
            }
            if let found { return found }
            if !wanted || resultReady.wait(timeout: deadline) == .timedOut {
                forget(drain)
                return nil
            }
        }
    }

    /// Drops everything read or being read for `drain` (its chain ended or failed).
    func forget(_ drain: ClaimedDrain) {
        state.withLock { s in
            s.wanted = s.wanted.filter { $0.drain != drain.id }
            s.results = s.results.filter { $0.key.drain != drain.id }
            s.jobs.removeAll { $0.position.drain == drain.id }
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
            let (job, stopped): (Job?, Bool) = state.withLock { s in
                (s.jobs.isEmpty ? nil : s.jobs.removeFirst(), s.stopped)
            }
            if stopped { return }
            guard let job else { continue }
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
            let speculate = state.withLock { s -> Bool in
                guard s.wanted.contains(job.position) else { return false }  // forgotten meanwhile
                s.results[job.position] = .some(batch)
                // One read further for a full batch: the drain's backlog goes on.
                guard !job.speculative, let batch, batch.lines >= job.drain.samplingRate else { return false }
                let next = Position(job.drain, after: batch)
                guard s.wanted.insert(next).inserted else { return false }
                s.jobs.append(Job(position: next, drain: job.drain, after: batch.withoutBody(), speculative: true))
                return true
            }
            resultReady.signal()
            if speculate { jobReady.signal() }
        }
    }
}
