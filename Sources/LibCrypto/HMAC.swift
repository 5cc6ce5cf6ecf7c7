internal import CCrypto

/// HMAC-SHA256 and secure random bytes from OpenSSL's libcrypto.
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` keyed by `key`.
    public static func mac(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        let keyBytes = Array(key)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = keyBytes.withUnsafeBufferPointer { k in
            withContiguousBytes(message) { m in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count,
                         o.baseAddress, &length)
                }
            }
        }
        precondition(ok != nil, "HMAC-SHA256 failed in libcrypto")
        return Array(out.prefix(Int(length)))
    }

    /// Lowercase hex, as in the `X-Fal-Signature` header and Python's `hexdigest()`.
    public static func hex(key: String, message: some Collection<UInt8>) -> String {
        Hex.encode(mac(key: Array(key.utf8), message: message))
    }
}

public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum SecureRandom {
    /// `count` bytes from OpenSSL's CSPRNG.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "RAND_bytes failed")
        return out
    }
}

private func withContiguousBytes<C: Collection<UInt8>, R>(_ c: C, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let r = c.withContiguousStorageIfAvailable(body) { return r }
    return Array(c).withUnsafeBufferPointer(body)
}

/// SHA-256 digests, for sign-in tokens and dashboard sessions (only their hashes are stored).
public enum SHA256Digest {
    public static func hash(_ message: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = withContiguousBytes(message) { m in
            out.withUnsafeMutableBufferPointer { o in EVP_Digest(m.baseAddress, m.count, o.baseAddress, nil, EVP_sha256(), nil) }
        }
        precondition(ok == 1, "SHA-256 failed in libcrypto")
        return out
    }

    public static func hex(_ text: String) -> String { Hex.encode(hash(Array(text.utf8))) }
}

public enum ConstantTime {
    /// Equal contents, compared without stopping at the first difference (OpenSSL's CRYPTO_memcmp),
    /// so the time taken says nothing about where two secrets differ.
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a), y = Array(b)
        guard x.count == y.count else { return false }
        if x.isEmpty { return true }
        return x.withUnsafeBytes { p in y.withUnsafeBytes { q in CRYPTO_memcmp(p.baseAddress, q.baseAddress, x.count) == 0 } }
    }
}
