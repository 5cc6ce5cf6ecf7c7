import LibCrypto

/// Secrets people and browsers hold (sign-in tokens, session cookies, CSRF tokens, generated
/// drain secrets): made from the system's random source, stored only as SHA-256, compared in
/// constant time. The one door to libcrypto for the layers above DrainCore.
public enum Credential {
    /// `bytes` random bytes as lowercase hex.
    public static func randomHex(bytes: Int) -> String { Hex.encode(SecureRandom.bytes(bytes)) }

    /// The SHA-256 of the text, as lowercase hex: what the database keeps.
    public static func hash(_ text: String) -> String { SHA256Digest.hex(text) }

    /// Exactly `count` lowercase hex digits: the shape of every credential made here.
    public static func isLowerHex(_ text: some Collection<UInt8>, count: Int) -> Bool {
        text.count == count && text.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Equal without the time taken saying where they differ.
    public static func matches(_ a: String, _ b: String) -> Bool { ConstantTime.equal(Array(a.utf8), Array(b.utf8)) }
}

/// Sign-in tokens: `ldt_` and 64 hex digits of 256 random bits. The first 12 digits find the
/// row; the SHA-256 of the whole token is compared in constant time.
public enum SignInToken {
    public static let prefix = "ldt_"

    public static func make() -> String { prefix + Credential.randomHex(bytes: 32) }

    /// The lookup key of a well-formed token, or nil (then there is nothing to look up).
    public static func lookupKey(of token: String) -> String? {
        guard token.hasPrefix(prefix) else { return nil }
        let body = token.utf8.dropFirst(prefix.utf8.count)
        guard Credential.isLowerHex(body, count: 64) else { return nil }
        return String(decoding: body.prefix(12), as: UTF8.self)
    }
}
