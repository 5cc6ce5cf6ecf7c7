internal import CCrypto

/// AES-256-GCM from libcrypto: authenticated encryption with a random 96-bit nonce.
/// The sealed form is nonce (12 bytes) || ciphertext || tag (16 bytes).
public enum AES256GCM {
    public static let keyBytes = 32
    static let nonceBytes = 12
    static let tagBytes = 16

    /// Why a sealed box did not open: it was cut short, or its tag did not match (a wrong key
    /// or altered bytes; GCM cannot tell those apart).
    public enum OpenError: Error, Equatable {
        case tooShort
        case authenticationFailed
    }

    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8] = []) -> [UInt8] {
        precondition(key.count == keyBytes, "AES-256-GCM needs a 32-byte key")
        let nonce = SecureRandom.bytes(nonceBytes)
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagBytes)
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        var total = 0
        var ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(nonceBytes), nil) == 1
        ok = ok && EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1
        if !associatedData.isEmpty {
            ok = ok && EVP_EncryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1
        }
        ok = ok && out.withUnsafeMutableBufferPointer { o in
            EVP_EncryptUpdate(ctx, o.baseAddress, &length, plaintext, Int32(plaintext.count)) == 1
        }
        total = Int(length)
        ok = ok && out.withUnsafeMutableBufferPointer { o in
            EVP_EncryptFinal_ex(ctx, o.baseAddress! + total, &length) == 1
        }
        total += Int(length)
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(tagBytes), &tag) == 1
        precondition(ok, "AES-256-GCM encryption failed in libcrypto")
        return nonce + out.prefix(total) + tag
    }

    public static func open(_ sealed: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws(OpenError) -> [UInt8] {
        precondition(key.count == keyBytes, "AES-256-GCM needs a 32-byte key")
        guard sealed.count >= nonceBytes + tagBytes else { throw .tooShort }
        let nonce = Array(sealed.prefix(nonceBytes))
        let ciphertext = Array(sealed[nonceBytes..<(sealed.count - tagBytes)])
        var tag = Array(sealed.suffix(tagBytes))
        var out = [UInt8](repeating: 0, count: ciphertext.count + 16)
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        var ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(nonceBytes), nil) == 1
        ok = ok && EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1
        if !associatedData.isEmpty {
            ok = ok && EVP_DecryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1
        }
        ok = ok && out.withUnsafeMutableBufferPointer { o in
            EVP_DecryptUpdate(ctx, o.baseAddress, &length, ciphertext, Int32(ciphertext.count)) == 1
        }
        let total = Int(length)
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tagBytes), &tag) == 1
        // The tag is checked here: a wrong key or a changed byte fails.
        ok = ok && out.withUnsafeMutableBufferPointer { o in
            EVP_DecryptFinal_ex(ctx, o.baseAddress! + total, &length) == 1
        }
        guard ok else { throw .authenticationFailed }
        return Array(out.prefix(total + Int(length)))
    }
}
