import DrainCore
import DrainStore
import LibCrypto

/// A sign-in token as issued: shown once, never stored (the database keeps its SHA-256).
public struct IssuedToken: Sendable {
    public let token: String
    public let account: String
    public let email: String
    public let createdAt: String
}

/// The dashboard's session cookie value and the CSRF token its forms carry.
public struct DashboardSession: Sendable {
    public let cookie: String
    public let csrf: String
    public let member: SignedInMember

    /// A request that carries its token in `Authorization: Bearer` (scripts, API clients): no
    /// cookie, so no cross-site request can ride on it and no CSRF token is needed.
    public static func bearer(_ member: SignedInMember) -> DashboardSession {
        DashboardSession(cookie: "", csrf: "", member: member)
    }

    public var isBearer: Bool { cookie.isEmpty }
}

/// Sign-in tokens: `ldt_` and 64 hex digits of 256 random bits. The first 12 digits find the
/// row; the SHA-256 of the whole token is compared in constant time.
enum SignInToken {
    static let prefix = "ldt_"

    static func make() -> String { prefix + Hex.encode(SecureRandom.bytes(32)) }

    /// The lookup key of a well-formed token, or nil (then there is nothing to look up).
    static func lookupKey(of token: String) -> String? {
        guard token.hasPrefix(prefix) else { return nil }
        let body = token.utf8.dropFirst(prefix.utf8.count)
        guard body.count == 64, body.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        return String(decoding: body.prefix(12), as: UTF8.self)
    }
}

extension Admin {
    /// Dashboard sessions last a working day; signing in again makes a new one.
    public static let sessionSeconds = 12 * 3600

    public func createToken(account: String, email: String) throws -> IssuedToken {
        try Validate.accountName(account)
        try Validate.email(email)
        let token = SignInToken.make()
        let created = try store.createToken(account: account, email: email,
                                            lookupKey: SignInToken.lookupKey(of: token)!, hash: SHA256Digest.hex(token))
        return IssuedToken(token: token, account: account, email: email.lowercased(), createdAt: created)
    }

    public func createToken(account: String, email: String, json: Bool) throws -> String {
        let issued = try createToken(account: account, email: email)
        if json { return JSONOutput.object([("token", .string(issued.token))]).render() }
        // stdout is the token alone (for `TOKEN=$(drain-admin token create ...)`); the words go to stderr.
        notices.append("sign-in token for \(issued.email) in \(issued.account) (shown once; store it now)")
        return issued.token
    }

    public func revokeTokens(account: String, email: String) throws -> String {
        try Validate.accountName(account)
        try Validate.email(email)
        let n = try store.revokeTokens(account: account, email: email)
        return "revoked \(n) token\(n == 1 ? "" : "s") of \(email.lowercased()) in \(account); their dashboard sessions ended"
    }

    /// The member a presented token speaks for, or nil when it is malformed, unknown or revoked.
    public func authenticate(token: String) throws -> SignedInMember? {
        guard let key = SignInToken.lookupKey(of: token),
              let candidate = try store.tokenCandidate(lookupKey: key) else { return nil }
        guard ConstantTime.equal(Array(SHA256Digest.hex(token).utf8), Array(candidate.hash.utf8)) else { return nil }
        if candidate.stale { try store.markTokenUsed(candidate.tokenID) }
        return candidate.member
    }

    /// Signs in with a token: a new session, or nil when the token is unknown or revoked.
    public func signIn(token: String) throws -> DashboardSession? {
        guard let member = try authenticate(token: token) else { return nil }
        let cookie = Hex.encode(SecureRandom.bytes(32))
        let csrf = Hex.encode(SecureRandom.bytes(32))
        guard try store.createSession(tokenID: member.tokenID, sessionHash: SHA256Digest.hex(cookie), csrf: csrf,
                                      seconds: Self.sessionSeconds) else { return nil }
        return DashboardSession(cookie: cookie, csrf: csrf, member: member)
    }

    /// The live session behind a cookie value, or nil (expired, signed out, token revoked).
    public func session(cookie: String) throws -> DashboardSession? {
        guard cookie.utf8.count == 64, cookie.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              let found = try store.session(hash: SHA256Digest.hex(cookie)) else { return nil }
        return DashboardSession(cookie: cookie, csrf: found.csrf, member: found.member)
    }

    public func endSession(cookie: String) throws {
        try store.deleteSession(hash: SHA256Digest.hex(cookie))
    }
}
