import DrainCore
import DrainStore

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

extension Admin {
    /// Dashboard sessions last a working day; signing in again makes a new one.
    public static let sessionSeconds = 12 * 3600

    public func createToken(account: String, email: String) throws -> IssuedToken {
        try Validate.accountName(account)
        try Validate.email(email)
        let token = SignInToken.make()
        let created = try store.createToken(account: account, email: email,
                                            lookupKey: SignInToken.lookupKey(of: token)!, hash: Credential.hash(token))
        return IssuedToken(token: token, account: account, email: email.lowercased(), createdAt: created)
    }

    /// How many tokens of the member were revoked (their dashboard sessions end with them).
    public func revokeTokens(account: String, email: String) throws -> Int {
        try Validate.accountName(account)
        try Validate.email(email)
        return try store.revokeTokens(account: account, email: email)
    }

    /// The member a presented token speaks for, or nil when it is malformed, unknown or revoked.
    public func authenticate(token: String) throws -> SignedInMember? {
        guard let key = SignInToken.lookupKey(of: token),
              let candidate = try store.tokenCandidate(lookupKey: key) else { return nil }
        guard Credential.matches(Credential.hash(token), candidate.hash) else { return nil }
        if candidate.stale { try store.markTokenUsed(candidate.member.tokenID) }
        return candidate.member
    }

    /// Signs in with a token: a new session, or nil when the token is unknown or revoked.
    public func signIn(token: String) throws -> DashboardSession? {
        guard let member = try authenticate(token: token) else { return nil }
        let cookie = Credential.randomHex(bytes: 32)
        let csrf = Credential.randomHex(bytes: 32)
        guard try store.createSession(tokenID: member.tokenID, sessionHash: Credential.hash(cookie), csrf: csrf,
                                      seconds: Self.sessionSeconds) else { return nil }
        return DashboardSession(cookie: cookie, csrf: csrf, member: member)
    }

    /// The live session behind a cookie value, or nil (expired, signed out, token revoked).
    public func session(cookie: String) throws -> DashboardSession? {
        guard Credential.isLowerHex(cookie.utf8, count: 64), let found = try store.session(hash: Credential.hash(cookie)) else { return nil }
        return DashboardSession(cookie: cookie, csrf: found.csrf, member: found.member)
    }

    public func endSession(cookie: String) throws {
        try store.deleteSession(hash: Credential.hash(cookie))
    }
}
