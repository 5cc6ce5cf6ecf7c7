import XCTest
import LibCrypto

final class HMACTests: XCTestCase {
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

    func testRandomSecretsDiffer() {
        XCTAssertNotEqual(SecureRandom.bytes(32), SecureRandom.bytes(32))
    }
}
