import XCTest
@testable import HTTPClient

final class AddressPolicyTests: XCTestCase {
    func testForbiddenAddresses() {
        for a in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                  "169.254.1.1", "0.0.0.0", "100.64.0.1", "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1",
                  "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1"] {
            XCTAssertNotNil(AddressPolicy.restriction(of: a), a)
        }
        XCTAssertEqual(AddressPolicy.restriction(of: "169.254.169.254"), "metadata address")
    }

    func testPublicAddresses() {
        for a in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            XCTAssertNil(AddressPolicy.restriction(of: a), a)
        }
    }
}
