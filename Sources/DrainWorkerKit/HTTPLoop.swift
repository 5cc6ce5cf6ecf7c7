import Dispatch
import Delivery
import Synchronization

/// A batch handed to the HTTP loop, signed there: HMAC-SHA256 over a 1.4 MB body is about a
/// millisecond, which the database thread (the firehose's busiest) no longer spends.
struct UnsignedDelivery: Sendable {
    var url: String
    var secret: String
    var body: [UInt8]
    var deliveryID: String
    var attempt: Int
    var timeout: Double

    func signed() -> SignedDelivery {
        SignedDelivery(url: url, secret: secret, body: body, deliveryID: deliveryID, attempt: attempt, timeout: timeout)
    }
}

/// Requests on their way to the HTTP loop, and the word that no more will come. The database
/// side posts; the HTTP loop takes. Posting wakes the loop from `curl_multi_poll`.
final class SendQueue: Sendable {
    private struct State {
        var requests: [(id: Int, request: UnsignedDelivery)] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let wakeup: EndpointClient.Wakeup

    init(wakeup: EndpointClient.Wakeup) { self.wakeup = wakeup }

    func post(_ request: UnsignedDelivery, id: Int) {
        state.withLock { $0.requests.append((id, request)) }
        wakeup.wake()
    }

    /// No more requests: the loop ends once those in flight are done.
    func close() {
        state.withLock { $0.closed = true }
        wakeup.wake()
    }

    func take() -> (requests: [(id: Int, request: UnsignedDelivery)], closed: Bool) {
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
    let metrics: WorkerMetrics

    /// Runs on the calling thread until the send queue is closed and nothing is in flight.
    func run() {
        while true {
            let (requests, closed) = sends.take()
            for (id, request) in requests { client.start(metrics.time(metrics.signDuration) { request.signed() }, id: id) }
            if closed && requests.isEmpty && client.inFlight == 0 { return }
            // curl_multi_wakeup (a post) ends the wait early.
            completions.post(client.poll(timeoutMs: 1000))
        }
    }
}
