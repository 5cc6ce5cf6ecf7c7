import DrainCore
import Foundation

/// Where a drain secret comes from. Never argv: a file, an environment variable, or generated.
public enum SecretSource: Sendable {
    case file(String)
    case environment(String)
    case generate
    /// A secret handed over in a request body (the JSON API and the dashboard's form).
    case given(String)

    /// Reads (or makes) the secret and validates it. Generated secrets are 96 hex characters
    /// (384 bits) from OpenSSL's CSPRNG.
    public func read() throws -> String {
        let secret: String
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AdminError("secret-file: cannot read \(path)")
            }
            guard var text = String(data: data, encoding: .utf8) else {
                throw AdminError("secret-file: \(path) is not UTF-8 text")
            }
            // One trailing newline (as editors and `echo` write) is not part of the secret.
            if text.hasSuffix("\r\n") { text.removeLast(1) } else if text.hasSuffix("\n") { text.removeLast() }
            secret = text
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name] else {
                throw AdminError("secret-env: environment variable \(name) is not set")
            }
            secret = value
        case .generate:
            secret = Credential.randomHex(bytes: 48)
        case .given(let value):
            secret = value
        }
        try Validate.secret(secret)
        return secret
    }

    /// At most one of the three options; `required` demands exactly one.
    public static func from(file: String?, env: String?, generate: Bool, required: Bool) throws -> SecretSource? {
        let chosen = [file.map { SecretSource.file($0) }, env.map { SecretSource.environment($0) },
                      generate ? SecretSource.generate : nil].compactMap { $0 }
        if chosen.count > 1 { throw AdminError("secret: give only one of --secret-file, --secret-env, --generate-secret") }
        if required && chosen.isEmpty { throw AdminError("secret: required: give --secret-file PATH, --secret-env VAR or --generate-secret") }
        return chosen.first
    }

    public var isGenerated: Bool { if case .generate = self { return true } else { return false } }
}
