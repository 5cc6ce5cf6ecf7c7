/// A rejected input, naming the field, e.g. `url: must be an https:// URL with a host`.
public struct ValidationFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public let field: String
    public let problem: String
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
    public var description: String { "\(field): \(problem)" }
}

/// The field rules of DESIGN §3. The database enforces the same rules (sql/), so a psql user
/// meets them too; checking here first gives the one-line error before anything is sent.
public enum Validate {
    public static let minimumSecretLength = 64

    public static func accountName(_ name: String) throws(ValidationFailure) {
        let ok = (1...63).contains(name.utf8.count) && name.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D
        }
        if !ok { throw ValidationFailure(field: "account", problem: "must be 1-63 characters of a-z, 0-9 and '-' (got \(JSONString.encode(name)))") }
    }

    // Lengths count Unicode code points, as PostgreSQL's char_length does, so both sides of
    // every rule agree on the same input.
    public static func drainName(_ name: String) throws(ValidationFailure) {
        let n = name.unicodeScalars.count
        if n < 1 || n > 100 { throw ValidationFailure(field: "name", problem: "must be 1-100 characters (got \(n))") }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ValidationFailure(field: "name", problem: "must not contain control characters")
        }
    }

    public static func secret(_ secret: String) throws(ValidationFailure) {
        let n = secret.unicodeScalars.count
        if n < minimumSecretLength {
            throw ValidationFailure(field: "secret", problem: "must be at least \(minimumSecretLength) characters (got \(n))")
        }
        if secret.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ValidationFailure(field: "secret", problem: "must not contain control characters or newlines")
        }
    }

    public static func samplingRate(_ rate: Int) throws(ValidationFailure) {
        if !Limits.samplingRates.contains(rate) {
            throw ValidationFailure(field: "sampling-rate", problem: "must be between \(Limits.samplingRates.lowerBound) and \(Limits.samplingRates.upperBound) (got \(rate))")
        }
    }

    public static func email(_ email: String) throws(ValidationFailure) {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let ok = parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && email.count <= 254
            && !email.contains(where: { $0 == " " || $0.isNewline })
        if !ok { throw ValidationFailure(field: "email", problem: "must be an address like name@example.com (got \(JSONString.encode(email)))") }
    }


    /// An `https://` URL with a host; returns its parts. Whitespace and control characters,
    /// which curl would reject or mangle, are refused here.
    @discardableResult
    public static func endpointURL(_ url: String) throws(ValidationFailure) -> EndpointURL {
        let fail = { (why: String) in ValidationFailure(field: "url", problem: why) }
        guard url.lowercased().hasPrefix("https://") else {
            throw fail("must be an https:// URL with a host (got \(URLRedaction.redact(url)))")
        }
        if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw fail("must not contain spaces or control characters")
        }
        if url.utf8.count > 2048 { throw fail("must be at most 2048 characters") }
        let rest = url.dropFirst("https://".count)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = Substring(authority)
        var port = 443
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw fail("has an unterminated IPv6 address") }
            let after = host[host.index(after: close)...]
            let inner = host[host.index(after: host.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw fail("has an invalid port") }
                port = p
            } else if !after.isEmpty { throw fail("has an invalid host") }
            host = inner
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw fail("has an invalid port") }
            port = p
            host = host[..<colon]
        }
        if host.isEmpty { throw fail("must be an https:// URL with a host") }
        return EndpointURL(host: String(host), port: port)
    }
}

public struct EndpointURL: Sendable, Equatable {
    public let host: String
    public let port: Int
}

/// A member's role in an account: admins change the account's drains; members read them.
public enum Role: String, Sendable, CaseIterable {
    case admin
    case member

    public init(validating text: String) throws(ValidationFailure) {
        guard let role = Role(rawValue: text) else {
            throw ValidationFailure(field: "role", problem: "must be admin or member (got \(JSONString.encode(text)))")
        }
        self = role
    }
}
