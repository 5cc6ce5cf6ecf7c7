import Dispatch
import DrainAdminKit
import Synchronization

/// A few `Admin`s, each with its own PostgreSQL connection and its own serial queue, so libpq's
/// and curl's blocking calls (a test send may wait 10 s for an endpoint) never run on Swift's
/// cooperative threads or on the HTTP server's event loops. A request borrows a free admin and
/// waits (without blocking a thread) while all are busy.
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

    private struct State {
        var free: [Slot]
        var waiters: [CheckedContinuation<Slot, Never>] = []
    }

    private let state: Mutex<State>

    init(size: Int, makeAdmin: () -> Admin) {
        state = Mutex(State(free: (0..<max(1, size)).map { Slot(admin: makeAdmin(), index: $0) }))
    }

    /// Runs `body` with an admin on that admin's own thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (Admin) throws -> T) async throws -> T {
        let slot = await acquire()
        defer { release(slot) }
        return try await withCheckedThrowingContinuation { continuation in
            slot.queue.async { continuation.resume(with: Result { try body(slot.admin) }) }
        }
    }

    private func acquire() async -> Slot {
        await withCheckedContinuation { continuation in
            let slot: Slot? = state.withLock { s in
                if let slot = s.free.popLast() { return slot }
                s.waiters.append(continuation)
                return nil
            }
            if let slot { continuation.resume(returning: slot) }
        }
    }

    private func release(_ slot: Slot) {
        let waiter: CheckedContinuation<Slot, Never>? = state.withLock { s in
            if s.waiters.isEmpty { s.free.append(slot); return nil }
            return s.waiters.removeFirst()
        }
        waiter?.resume(returning: slot)
    }
}
