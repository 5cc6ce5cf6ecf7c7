import DrainCore
internal import HTTPClient

/// A signed delivery (or test send), ready for the endpoint client: the body, signed over its
/// exact bytes, with the headers of DESIGN §2.5.
public struct SignedDelivery: Sendable {
    let request: HTTPRequest
    /// The URL with its credentials redacted, for messages.
    public var displayURL: String { request.displayURL }

    public init(url: String, secret: String, body: [UInt8], deliveryID: String, attempt: Int,
                timeout: Double = Limits.deliveryTimeoutSeconds) {
        request = HTTPRequest(url: url, displayURL: URLRedaction.redact(url),
                              headers: DeliveryHeaders.headers(body: body, secret: secret, deliveryID: deliveryID, attempt: attempt),
                              body: body, timeout: timeout)
    }
}

/// HTTPS to customers' endpoints: many deliveries at once on one `curl_multi`, driven from the
/// caller's thread (the worker's HTTP loop), or one at a time (admin test sends). Answers come
/// back as DrainCore's `EndpointAnswer`, so callers never meet the HTTP client's types.
public final class EndpointClient {
    private let client: HTTPMultiClient
    /// Ends a `poll` early from any thread.
    public let wakeup: Wakeup

    public final class Wakeup: Sendable {
        private let inner: HTTPMultiClient.Wakeup
        init(_ inner: HTTPMultiClient.Wakeup) { self.inner = inner }
        public func wake() { inner.wake() }
    }

    public struct Completion: Sendable {
        public let id: Int
        public let answer: EndpointAnswer
    }

    /// `caFile`: an extra PEM bundle to trust; `allowPrivate`: endpoints on loopback and
    /// private addresses (tests); `proxy`: the explicit egress, if any; `concurrency`: the
    /// deliveries in flight at once, which is how many idle connections are worth keeping.
    public init(caFile: String?, allowPrivate: Bool, proxy: String? = nil, concurrency: Int = 1) {
        client = HTTPMultiClient(configuration: HTTPClientConfiguration(
            caFile: caFile, allowPrivateAddresses: allowPrivate, userAgent: DeliveryHeaders.userAgent, proxy: proxy,
            idleConnections: max(concurrency, 8)))
        wakeup = Wakeup(client.wakeup)
    }

    public var inFlight: Int { client.inFlight }

    /// Starts a delivery; its completion, tagged `id`, comes from a later `poll`.
    public func start(_ delivery: SignedDelivery, id: Int) { client.start(delivery.request, id: id) }

    /// Waits up to `timeoutMs` for transfers to progress and returns those that finished.
    public func poll(timeoutMs: Int) -> [Completion] {
        client.poll(timeoutMs: timeoutMs).map { Completion(id: $0.id, answer: Self.answer($0.result)) }
    }

    /// Sends one delivery and waits for its answer.
    public func send(_ delivery: SignedDelivery) -> EndpointAnswer { Self.answer(client.send(delivery.request)) }

    static func answer(_ result: Result<HTTPResponse, HTTPError>) -> EndpointAnswer {
        switch result {
        case .success(let r):
            return .response(status: r.status, retryAfter: r.headers["retry-after"], bodyPrefix: Array(r.body.prefix(200)),
                             seconds: r.seconds)
        case .failure(let e):
            return .noResponse(description: e.description, seconds: e.seconds)
        }
    }
}

/// The refusal of endpoints on loopback, private, link-local and metadata addresses, for
/// callers that check before connecting (drain-admin). The worker's connections are checked
/// again at connect time by the HTTP client, which also covers DNS changes.
public enum EndpointGuard {
    public static func check(url: String, allowPrivate: Bool) throws(ValidationFailure) {
        let endpoint = try Validate.endpointURL(url)
        if allowPrivate { return }
        switch AddressPolicy.resolve(host: endpoint.host, port: endpoint.port) {
        case .failure:
            // Unresolvable here is not proof of anything: the worker checks again at connect
            // time, and a test send reports the DNS error itself.
            return
        case .success(let addresses):
            for address in addresses {
                if let reason = AddressPolicy.restriction(of: address) {
                    throw ValidationFailure(field: "url", problem: "\(endpoint.host) resolves to \(address), a \(reason); refused (allow with --allow-private-endpoints)")
                }
            }
        }
    }
}

/// A signed test line, sent by `create`, `update --url` and `test`. It carries the same
/// headers as a delivery and changes no drain state.
public enum TestSend {
    public struct Report: Sendable {
        public let ok: Bool
        public let summary: String
    }

    public static func body(timestamp: String) -> [UInt8] {
        var writer = NDJSONWriter()
        writer.beginLine()
        writer.append(.timestamp, timestamp)
        writer.append(.message, "LogDrain test delivery: this endpoint is reachable and the signature can be verified")
        writer.append(.level, "info")
        writer.append(.falSource, "logdrain-test")
        writer.endLine()
        return writer.bytes
    }

    public static func send(url: String, secret: String, client: EndpointClient, timestamp: String, deliveryID: String) -> Report {
        let delivery = SignedDelivery(url: url, secret: secret, body: body(timestamp: timestamp), deliveryID: deliveryID, attempt: 1)
        switch client.send(delivery) {
        case .response(let status, _, _, let seconds) where (200..<300).contains(status):
            return Report(ok: true, summary: "test delivery to \(delivery.displayURL): HTTP \(status) in \(milliseconds(seconds)) ms")
        case .response(let status, _, let body, let seconds):
            return Report(ok: false, summary: "test delivery to \(delivery.displayURL) failed: \(DeliveryOutcome.describe(status: status, body: body)) after \(milliseconds(seconds)) ms")
        case .noResponse(let description, _):
            return Report(ok: false, summary: "test delivery failed: \(description)")
        }
    }

    static func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
}
