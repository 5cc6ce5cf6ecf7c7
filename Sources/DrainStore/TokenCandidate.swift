import DrainCore

/// The stored side of a sign-in token: its hash (compared in constant time by the caller),
/// the member it speaks for, and whether its last use is old enough to record again.
public struct TokenCandidate: Sendable {
    public let hash: String
    public let member: SignedInMember
    public let stale: Bool
}
