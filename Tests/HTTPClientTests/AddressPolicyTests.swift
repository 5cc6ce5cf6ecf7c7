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

    /// IPv6 forms that carry or reach an IPv4 address, and the other special ranges.
    func testSpecialRangesAndEmbeddedIPv4() {
        let refused = [
            "::127.0.0.1", "::10.0.0.1", "::8.8.8.8",          // IPv4-compatible (deprecated; never public)
            "64:ff9b::7f00:1", "64:ff9b::a00:1",               // NAT64 of loopback and private
            "64:ff9b:1::8.8.8.8",                              // local-use NAT64
            "2002:7f00:1::1", "2002:a00:1::1",                 // 6to4 (of loopback and private, too)
            "2001::1", "2001:db8::1", "100::1",                // Teredo, documentation, discard
            "192.0.2.1", "198.51.100.7", "203.0.113.9", "192.88.99.1", "255.255.255.255", "240.0.0.1",
        ]
        for a in refused { XCTAssertNotNil(AddressPolicy.restriction(of: a), a) }
        XCTAssertNil(AddressPolicy.restriction(of: "64:ff9b::808:808"), "NAT64 of a public address")
        // 6to4 goes through a relay nobody chose, like Teredo: refused whatever it wraps.
        XCTAssertEqual(AddressPolicy.restriction(of: "2002:808:808::1"), "6to4 address")
    }

    func testPublicAddresses() {
        for a in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            XCTAssertNil(AddressPolicy.restriction(of: a), a)
        }
    }
}
