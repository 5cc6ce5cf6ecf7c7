import Dispatch
import DrainAdminKit
import Synchronization

/// A few `Admin`s, each with its own PostgreSQL connection and its own serial queue, so libpq's
/// and curl's blocking calls (a test send may wait 10 s for an endpoint) never run on Swift's
/// cooperative threads or on the HTTP server's event loops. A request borrows a free admin and
/// waits (without blocking a thread) while all are busy, up to `maxWait`; then it is answered 503.
final class AdminPool: Sendable {
    /// One admin and the only queue that touches it.
    private final class Slot: @unchecked Sendable {
        let admin: Admin
        let queue: DispatchQueue
        init(admin: Admin, index: Int) {
            self.admin = admin
            self.queue = DispatchQueue(label: "logdrain.serve.admin.\(index)")
        }
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Slot?, Never>
    }

    private struct State {
        var free: [Slot]
        var waiters: [Waiter] = []
        var nextWaiter: UInt64 = 0
    }

    private let state: Mutex<State>
    private let maxWait: Duration

    init(size: Int, maxWait: Duration = .seconds(30), makeAdmin: () -> Admin) {
        state = Mutex(State(free: (0..<max(1, size)).map { Slot(admin: makeAdmin(), index: $0) }))
        self.maxWait = maxWait
    }

    /// Runs `body` with an admin on that admin's own thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (Admin) throws -> T) async throws -> T {
        guard let slot = await acquire() else {
            throw AdminError("server busy: every database connection stayed in use for \(maxWait); try again shortly",
                             kind: .unavailable)
        }
        defer { release(slot) }
        return try await withCheckedThrowingContinuation { continuation in
            slot.queue.async { continuation.resume(with: Result { try body(slot.admin) }) }
        }
    }

    /// For statements that change nothing: tried once more when the first try found the
    /// connection gone (after a database restart each pooled connection notices only on use).
    func read<T: Sendable>(_ body: @escaping @Sendable (Admin) throws -> T) async throws -> T {
        do {
            return try await run(body)
        } catch where !(error is AdminError) && AdminError.from(error).kind == .unavailable {
            // A lost connection (not this pool's own "busy", which a retry would only prolong).
            return try await run(body)
        }
    }

    private func acquire() async -> Slot? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Slot?, Never>) in
            let waiterID: UInt64? = state.withLock { s in
                if let slot = s.free.popLast() { continuation.resume(returning: slot); return nil }
                s.nextWaiter += 1
                s.waiters.append(Waiter(id: s.nextWaiter, continuation: continuation))
                return s.nextWaiter
            }
            guard let waiterID else { return }
            let maxWait = maxWait
            Task { [weak self] in
                try? await Task.sleep(for: maxWait)
                guard let self else { return }
                let expired = self.state.withLock { s -> Waiter? in
                    guard let i = s.waiters.firstIndex(where: { $0.id == waiterID }) else { return nil }
                    return s.waiters.remove(at: i)
                }
                expired?.continuation.resume(returning: nil)
            }
        }
    }

    private func release(_ slot: Slot) {
        let waiter: Waiter? = state.withLock { s in
            if s.waiters.isEmpty { s.free.append(slot); return nil }
            return s.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: slot)
    }
}
