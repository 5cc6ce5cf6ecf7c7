import XCTest
@testable import DrainCore

final class SigningTests: XCTestCase {
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

}
