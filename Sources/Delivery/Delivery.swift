import Foundation
import DrainCore
import HTTPClient

/// Turns batches into signed HTTPS requests and responses into outcomes — the one code path
/// for worker deliveries and admin test sends.
public enum DeliveryRequest {
    public static func make(url: String, secret: String, body: [UInt8], deliveryID: String, attempt: Int,
                            timeout: Double = 10) -> HTTPRequest {
        HTTPRequest(url: url, displayURL: URLRedaction.redact(url),
                    headers: DeliveryHeaders.headers(body: body, secret: secret, deliveryID: deliveryID, attempt: attempt),
                    body: body, timeout: timeout)
    }
}

public enum DeliveryOutcome {
    /// Classifies an exchange: 2xx is success; any other status, a network or TLS error, or a
    /// timeout is a failure, retried after `backoff` (honouring Retry-After on 429/503).
    public static func classify(_ result: Result<HTTPResponse, HTTPError>, failuresSoFar: Int,
                                backoff: Backoff) -> DeliveryResult {
        switch result {
        case .success(let response) where response.isSuccess:
            return .success(status: response.status, seconds: response.seconds)
        case .success(let response):
            let retryAfter = (response.status == 429 || response.status == 503)
                ? parseRetryAfter(response.headers["retry-after"]) : nil
            return .failure(status: response.status, error: describe(response),
                            retryDelay: backoff.delay(afterFailures: failuresSoFar + 1, retryAfter: retryAfter),
                            seconds: response.seconds)
        case .failure(let error):
            return .failure(status: nil, error: error.description,
                            retryDelay: backoff.delay(afterFailures: failuresSoFar + 1), seconds: error.seconds)
        }
    }

    /// "HTTP 500" plus the start of the body, which usually says why: printable ASCII only,
    /// with URLs redacted and `name=value` values as `***`, since an endpoint may echo a token.
    static func describe(_ response: HTTPResponse) -> String {
        var text = "HTTP \(response.status)"
        if (300..<400).contains(response.status) { text += " (redirects are not followed)" }
        let snippet = safeSnippet(response.body.prefix(200))
        if !snippet.isEmpty { text += ": \(snippet)" }
        return text
    }

    static func safeSnippet(_ body: some Collection<UInt8>) -> String {
        let printable = String(decoding: body.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: " ") }, as: UTF8.self)
        return printable.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            if word.contains("://") { return URLRedaction.redact(String(word)) }
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { return String(word) }
            return "\(word[..<eq])=***"
        }.joined(separator: " ").trimmingCharacters(in: .whitespaces)
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

    public static func send(url: String, secret: String, client: HTTPMultiClient, timestamp: String, deliveryID: String) -> Report {
        let request = DeliveryRequest.make(url: url, secret: secret, body: body(timestamp: timestamp),
                                           deliveryID: deliveryID, attempt: 1)
        switch client.send(request) {
        case .success(let response) where response.isSuccess:
            return Report(ok: true, summary: "test delivery to \(request.displayURL): HTTP \(response.status) in \(milliseconds(response.seconds)) ms")
        case .success(let response):
            return Report(ok: false, summary: "test delivery to \(request.displayURL) failed: \(DeliveryOutcome.describe(response)) after \(milliseconds(response.seconds)) ms")
        case .failure(let error):
            return Report(ok: false, summary: "test delivery failed: \(error.description)")
        }
    }

    static func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
}
