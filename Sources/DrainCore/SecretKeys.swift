import LibCrypto
import Foundation

/// The keys that encrypt drain secrets at rest (DESIGN §5), from `--secret-keys-file` /
/// `DRAIN_SECRET_KEYS_FILE`: one `KEY_ID BASE64_OF_32_BYTES` a line, the first the current
/// key. PostgreSQL never holds a key; it stores `ldenc:v1:KEY_ID:BASE64(nonce|ciphertext|tag)`.
public struct SecretKeys: Sendable {
    public struct Key: Sendable {
        public let id: String
        let bytes: [UInt8]
    }

    /// A stored secret this process cannot read.
    public enum OpenError: Error, Equatable, CustomStringConvertible {
        /// Encrypted under a key this process does not have.
        case missingKey(String)
        /// Not a well-formed encrypted secret, or altered (the tag did not match).
        case unreadable(String)

        public var description: String {
            switch self {
            case .missingKey(let id): return "secret is encrypted under key \(id), which is not in the secret keys file"
            case .unreadable(let why): return "secret cannot be decrypted: \(why)"
            }
        }
    }

    static let prefix = "ldenc:v1:"
    /// Binds every sealed secret to its purpose, so no other ciphertext under the same key
    /// passes for a drain secret.
    static let associatedData = Array("logdrain drain secret v1".utf8)

    public let keys: [Key]
    public var current: Key { keys[0] }

    /// Parses the file's text; errors name the line.
    public init(text: String) throws(ValidationFailure) {
        var keys: [Key] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            let n = index + 1
            guard parts.count == 2 else {
                throw ValidationFailure(field: "secret-keys-file", problem: "line \(n): expected KEY_ID BASE64_OF_32_BYTES")
            }
            let id = String(parts[0])
            guard id.range(of: "^[A-Za-z0-9._-]{1,64}$", options: .regularExpression) != nil else {
                throw ValidationFailure(field: "secret-keys-file", problem: "line \(n): key id must be 1-64 of A-Z a-z 0-9 . _ -")
            }
            guard let data = Data(base64Encoded: String(parts[1])), data.count == AES256GCM.keyBytes else {
                throw ValidationFailure(field: "secret-keys-file", problem: "line \(n): key \(id) is not base64 of exactly 32 bytes")
            }
            guard !keys.contains(where: { $0.id == id }) else {
                throw ValidationFailure(field: "secret-keys-file", problem: "line \(n): key id \(id) appears twice")
            }
            keys.append(Key(id: id, bytes: Array(data)))
        }
        guard !keys.isEmpty else { throw ValidationFailure(field: "secret-keys-file", problem: "holds no key") }
        self.keys = keys
    }

    /// Reads and parses the keys file at `path`.
    public static func load(path: String) throws(ValidationFailure) -> SecretKeys {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationFailure(field: "secret-keys-file", problem: "cannot read \(path)")
        }
        return try SecretKeys(text: String(decoding: data, as: UTF8.self))
    }

    /// The stored form of `secret`, under the current key.
    public func seal(_ secret: String) -> String {
        let sealed = AES256GCM.seal(Array(secret.utf8), key: current.bytes, associatedData: Self.associatedData)
        return Self.prefix + current.id + ":" + Data(sealed).base64EncodedString()
    }

    /// Whether a stored value is encrypted (else it is a plaintext secret from before keys).
    public static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// The key id a stored value is encrypted under (nil for plaintext).
    public static func keyID(of stored: String) -> String? {
        guard isSealed(stored) else { return nil }
        return stored.dropFirst(prefix.count).split(separator: ":", maxSplits: 1).first.map(String.init)
    }

    /// The plaintext of a stored secret: decrypted, or as it is when it was stored unencrypted.
    public func open(_ stored: String) throws(OpenError) -> String {
        try Self.open(stored, with: self)
    }

    /// `open` for a process that may have no keys: plaintext passes, sealed needs `keys`.
    public static func open(_ stored: String, with keys: SecretKeys?) throws(OpenError) -> String {
        guard isSealed(stored) else { return stored }
        let rest = stored.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { throw .unreadable("no key id") }
        let id = String(rest[..<colon])
        guard let key = keys?.keys.first(where: { $0.id == id }) else { throw .missingKey(id) }
        guard let sealed = Data(base64Encoded: String(rest[rest.index(after: colon)...])) else {
            throw .unreadable("not base64")
        }
        guard let plain = try? AES256GCM.open(Array(sealed), key: key.bytes, associatedData: associatedData) else {
            throw .unreadable("authentication failed (altered, or a different key under the same id)")
        }
        guard let text = String(validating: plain, as: UTF8.self) else { throw .unreadable("not UTF-8") }
        return text
    }
}
