/// One POST to send. `displayURL` is what errors show (the caller redacts secrets from it).
public struct HTTPRequest: Sendable {
    public var url: String
    public var displayURL: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Total time allowed for the whole exchange, in seconds.
    public var timeout: Double

    public init(url: String, displayURL: String, headers: [(name: String, value: String)], body: [UInt8], timeout: Double) {
        self.url = url
        self.displayURL = displayURL
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct HTTPResponse: Sendable {
    public let status: Int
    /// Response headers, names lowercased; the last value wins.
    public let headers: [String: String]
    /// At most `maxResponseBytes` of the body.
    public let body: [UInt8]
    public let seconds: Double
    public let remoteAddress: String?

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Why an exchange produced no HTTP status.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case dns, connect, tls, timeout
        /// The endpoint resolved to an address the policy forbids; nothing was sent.
        case forbiddenAddress = "forbidden-address"
        case other
    }

    public let kind: Kind
    public let message: String
    public let displayURL: String
    public let seconds: Double

    public var description: String { "\(kind.rawValue) error: \(message) (\(displayURL))" }
}

public struct HTTPClientConfiguration: Sendable {
    /// An extra PEM bundle trusted in addition to the system's CAs.
    public var caFile: String?
    /// Allow endpoints on loopback, private, link-local and metadata addresses.
    public var allowPrivateAddresses: Bool
    public var maxResponseBytes: Int
    public var userAgent: String
    /// An explicit proxy (`--proxy`), the trusted egress; nil means direct connections only.
    public var proxy: String?
    /// How many idle connections are kept for reuse: at least the requests in flight at once,
    /// or connections opened for a burst are closed after it and the next burst opens (and
    /// handshakes) them again.
    public var idleConnections: Int

    public init(caFile: String? = nil, allowPrivateAddresses: Bool = false,
                maxResponseBytes: Int = 64 * 1024, userAgent: String, proxy: String? = nil, idleConnections: Int = 64) {
        self.caFile = caFile
        self.allowPrivateAddresses = allowPrivateAddresses
        self.proxy = proxy
        self.idleConnections = idleConnections
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
    }
}
