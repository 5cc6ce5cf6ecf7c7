import XCTest
import LibCrypto
@testable import DrainCore

final class SigningTests: XCTestCase {
    /// RFC 4231 test case 2.
    func testHMACKnownVectorRFC4231() {
        XCTAssertEqual(HMACSHA256.hex(key: "Jefe", message: Array("what do ya want for nothing?".utf8)),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// RFC 4231 test case 6: a key longer than the block size is hashed first.
    func testHMACLongKeyVector() {
        let key = [UInt8](repeating: 0xAA, count: 131)
        let mac = HMACSHA256.mac(key: key, message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        XCTAssertEqual(Hex.encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    func testSignatureIsLowercaseHexOfBody() {
        let sig = DeliveryHeaders.signature(body: Array("{}\n".utf8), secret: String(repeating: "k", count: 64))
        XCTAssertEqual(sig.count, 64)
        XCTAssertEqual(sig, sig.lowercased())
        XCTAssertNotEqual(sig, DeliveryHeaders.signature(body: Array("{} \n".utf8), secret: String(repeating: "k", count: 64)))
    }

    func testHeaders() {
        let h = DeliveryHeaders.headers(body: [1, 2], secret: String(repeating: "s", count: 64), deliveryID: "id-1", attempt: 3)
        let dict = Dictionary(uniqueKeysWithValues: h.map { ($0.name, $0.value) })
        XCTAssertEqual(dict["Content-Type"], "application/x-ndjson")
        XCTAssertEqual(dict["X-Fal-Delivery-Id"], "id-1")
        XCTAssertEqual(dict["X-Fal-Delivery-Attempt"], "3")
        XCTAssertEqual(dict["User-Agent"], "LogDrain/\(DeliveryHeaders.version)")
    }

    func testRandomSecretsDiffer() {
        XCTAssertNotEqual(SecureRandom.bytes(32), SecureRandom.bytes(32))
    }
}
