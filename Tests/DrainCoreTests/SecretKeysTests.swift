import Foundation
import XCTest
@testable import DrainCore

final class SecretKeysTests: XCTestCase {
    private func key() -> String { Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }
    private let secret = String(repeating: "s3cr3t-", count: 12)

    func testSealOpenRoundTripAndFormat() throws {
        let keys = try SecretKeys(text: "k1 \(key())\nk0 \(key())\n")
        let stored = keys.seal(secret)
        XCTAssertTrue(stored.hasPrefix("ldenc:v1:k1:"), stored)
        XCTAssertFalse(stored.contains(secret))
        XCTAssertEqual(try keys.open(stored), secret)
        XCTAssertNotEqual(keys.seal(secret), stored, "a fresh nonce each time")
        XCTAssertEqual(SecretKeys.keyID(of: stored), "k1")
    }

    func testOldKeysStillOpenAndPlaintextPasses() throws {
        let old = key()
        let before = try SecretKeys(text: "k0 \(old)\n")
        let after = try SecretKeys(text: "k1 \(key())\nk0 \(old)\n")
        XCTAssertEqual(try after.open(before.seal(secret)), secret)
        XCTAssertEqual(try after.open(secret), secret, "a secret stored before keys existed")
        XCTAssertEqual(try SecretKeys.open(secret, with: nil), secret)
    }

    func testMissingKeyAndTamperingAreRefused() throws {
        let keys = try SecretKeys(text: "k1 \(key())")
        let other = try SecretKeys(text: "k2 \(key())")
        XCTAssertThrowsError(try other.open(keys.seal(secret))) { XCTAssertEqual($0 as? SecretKeys.OpenError, .missingKey("k1")) }
        XCTAssertThrowsError(try SecretKeys.open(keys.seal(secret), with: nil)) { XCTAssertEqual($0 as? SecretKeys.OpenError, .missingKey("k1")) }
        // Same id, different key bytes: the tag does not match.
        let impostor = try SecretKeys(text: "k1 \(key())")
        XCTAssertThrowsError(try impostor.open(keys.seal(secret)))
        var stored = Array(keys.seal(secret).utf8)
        let i = stored.count - 5
        stored[i] = stored[i] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertThrowsError(try keys.open(String(decoding: stored, as: UTF8.self)))
    }

    func testKeysFileErrorsNameTheLine() {
        func problem(_ text: String) -> String? {
            do { _ = try SecretKeys(text: text); return nil } catch { return error.description }
        }
        XCTAssertTrue(problem("")?.contains("holds no key") ?? false)
        XCTAssertTrue(problem("# comment\nk1\n")?.contains("line 2") ?? false)
        XCTAssertTrue(problem("k1 \(Data(count: 16).base64EncodedString())")?.contains("32 bytes") ?? false)
        XCTAssertTrue(problem("k1 \(key())\nk1 \(key())")?.contains("appears twice") ?? false)
        XCTAssertTrue(problem("bad/id \(key())")?.contains("key id") ?? false)
        XCTAssertNil(problem("# keys\n\nk1 \(key())\n"))
    }
}
