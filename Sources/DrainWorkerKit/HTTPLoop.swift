import Dispatch
import Delivery
import Synchronization

/// Requests on their way to the HTTP loop, and the word that no more will come. The database
/// side posts; the HTTP loop takes. Posting wakes the loop from `curl_multi_poll`.
final class SendQueue: Sendable {
    private struct State {
        var requests: [(id: Int, request: SignedDelivery)] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let wakeup: EndpointClient.Wakeup

    init(wakeup: EndpointClient.Wakeup) { self.wakeup = wakeup }

    func post(_ request: SignedDelivery, id: Int) {
        state.withLock { $0.requests.append((id, request)) }
        wakeup.wake()
    }

    /// No more requests: the loop ends once those in flight are done.
    func close() {
        state.withLock { $0.closed = true }
        wakeup.wake()
    }

    func take() -> (requests: [(id: Int, request: SignedDelivery)], closed: Bool) {
        state.withLock { s in
            defer { s.requests.removeAll() }
            return (s.requests, s.closed)
        }
    }
}

/// Finished exchanges on their way to the database side, which waits on them.
final class CompletionQueue: Sendable {
    private let items = Mutex<[EndpointClient.Completion]>([])
    private let ready = DispatchSemaphore(value: 0)

    func post(_ completions: [EndpointClient.Completion]) {
        guard !completions.isEmpty else { return }
        items.withLock { $0.append(contentsOf: completions) }
        ready.signal()
    }

    /// Waits at most `seconds` for completions (returns at once when some are queued).
    func wait(seconds: Double) {
        _ = ready.wait(timeout: .now() + max(0, seconds))
    }

    func take() -> [EndpointClient.Completion] {
        items.withLock { items in
            defer { items.removeAll() }
            return items
        }
    }
}

/// The loop that drives every HTTPS exchange through one `curl_multi`. It never touches the
/// database, so a stalled or restarting PostgreSQL cannot hold a response back (§2.11): each
/// completion goes straight to the database side's queue.
struct HTTPLoop {
    let client: EndpointClient
    let sends: SendQueue
    let completions: CompletionQueue

    /// Runs on the calling thread until the send queue is closed and nothing is in flight.
    func run() {
        while true {
            let (requests, closed) = sends.take()
            for (id, request) in requests { client.start(request, id: id) }
            if closed && requests.isEmpty && client.inFlight == 0 { return }
            // curl_multi_wakeup (a post) ends the wait early.
            completions.post(client.poll(timeoutMs: 1000))
        }
    }
}
