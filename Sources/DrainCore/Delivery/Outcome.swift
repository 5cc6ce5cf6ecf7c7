/// What an endpoint answered, as the delivery rules need it (no HTTP client types).
public enum EndpointAnswer: Sendable, Equatable {
    /// A response, with its `Retry-After` header and the start of its body.
    case response(status: Int, retryAfter: String?, bodyPrefix: [UInt8], seconds: Double)
    /// No response: DNS, connect, TLS, timeout, or a refused address; `description` is the
    /// client's one-line error with the URL redacted.
    case noResponse(description: String, seconds: Double)
}

/// How one delivery attempt ended, as the worker records it.
public enum DeliveryOutcome: Sendable, Equatable {
    case success(status: Int, seconds: Double)
    case failure(status: Int?, error: String, retryDelay: Double, seconds: Double)

    /// Classifies an answer: 2xx is success; any other status, a network or TLS error, or a
    /// timeout is a failure, retried after `backoff` (honouring `Retry-After` on 429/503).
    public static func classify(_ answer: EndpointAnswer, failuresSoFar: Int, backoff: Backoff) -> DeliveryOutcome {
        switch answer {
        case .response(let status, _, _, let seconds) where (200..<300).contains(status):
            return .success(status: status, seconds: seconds)
        case .response(let status, let retryAfterHeader, let body, let seconds):
            let retryAfter = (status == 429 || status == 503) ? parseRetryAfter(retryAfterHeader) : nil
            return .failure(status: status, error: describe(status: status, body: body),
                            retryDelay: backoff.delay(afterFailures: failuresSoFar + 1, retryAfter: retryAfter),
                            seconds: seconds)
        case .noResponse(let description, let seconds):
            return .failure(status: nil, error: description,
                            retryDelay: backoff.delay(afterFailures: failuresSoFar + 1), seconds: seconds)
        }
    }

    /// "HTTP 500" plus the start of the body, which usually says why: printable ASCII only,
    /// with URLs redacted and `name=value` values as `***`, since an endpoint may echo a token.
    public static func describe(status: Int, body: some Collection<UInt8>) -> String {
        var text = "HTTP \(status)"
        if (300..<400).contains(status) { text += " (redirects are not followed)" }
        let snippet = safeSnippet(body.prefix(200))
        if !snippet.isEmpty { text += ": \(snippet)" }
        return text
    }

    static func safeSnippet(_ body: some Collection<UInt8>) -> String {
        let printable = String(decoding: body.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: " ") }, as: UTF8.self)
        return printable.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            if word.contains("://") { return URLRedaction.redact(String(word)) }
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { return String(word) }
            return "\(word[..<eq])=***"
        }.joined(separator: " ").trimmingSpaces()
    }
}

/// Parses a `Retry-After` header value given in seconds (HTTP-dates are rare for
/// 429/503 from log intakes and are ignored).
public func parseRetryAfter(_ value: String?) -> Double? {
    guard let v = value?.trimmingSpaces(), let s = Double(v), s >= 0 else { return nil }
    return s
}
