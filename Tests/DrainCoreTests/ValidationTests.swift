import XCTest
@testable import DrainCore

final class ValidationTests: XCTestCase {
    private func field(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as ValidationFailure { return e.field } catch { return "?" }
    }

    func testEndpointURL() throws {
        XCTAssertEqual(try Validate.endpointURL("https://logs.example.com/intake?k=v"), EndpointURL(host: "logs.example.com", port: 443))
        XCTAssertEqual(try Validate.endpointURL("https://u:p@h.example:8443/x"), EndpointURL(host: "h.example", port: 8443))
        XCTAssertEqual(try Validate.endpointURL("https://[::1]:9000/"), EndpointURL(host: "::1", port: 9000))
        for bad in ["http://logs.example.com", "https://", "https:///path", "ftp://x", "https://a b.com/", "https://h:99999/", "logs.example.com"] {
            XCTAssertEqual(field { try Validate.endpointURL(bad) }, "url", bad)
        }
    }

    func testSecretNameRateAccount() {
        XCTAssertNil(field { try Validate.secret(String(repeating: "x", count: 64)) })
        XCTAssertEqual(field { try Validate.secret(String(repeating: "x", count: 63)) }, "secret")
        XCTAssertNil(field { try Validate.drainName(String(repeating: "n", count: 100)) })
        XCTAssertEqual(field { try Validate.drainName(String(repeating: "n", count: 101)) }, "name")
        XCTAssertEqual(field { try Validate.drainName("") }, "name")
        XCTAssertNil(field { try Validate.samplingRate(1) })
        XCTAssertNil(field { try Validate.samplingRate(5000) })
        XCTAssertEqual(field { try Validate.samplingRate(0) }, "sampling-rate")
        XCTAssertEqual(field { try Validate.samplingRate(5001) }, "sampling-rate")
        XCTAssertNil(field { try Validate.accountName("acme-1") })
        XCTAssertEqual(field { try Validate.accountName("Acme") }, "account")
        XCTAssertEqual(field { try Validate.accountName(String(repeating: "a", count: 64)) }, "account")
        XCTAssertEqual(field { try Validate.email("nobody") }, "email")
        XCTAssertEqual(field { _ = try Role(validating: "owner") }, "role")
    }

    func testRedaction() {
        XCTAssertEqual(URLRedaction.redact("https://user:pw@logs.example.com:8443/v1/input?api_key=SECRET&x=1#frag"),
                       "https://***@logs.example.com:8443/v1/input?api_key=***&x=***")
        XCTAssertEqual(URLRedaction.redact("https://http-inputs.splunk.example/services/collector/abcdef1234567890abcdef"),
                       "https://http-inputs.splunk.example/services/collector/***")
        XCTAssertEqual(URLRedaction.redact("https://h.example/short/abcdefghijklmnopqrstu"), "https://h.example/short/abcdefghijklmnopqrstu")
        XCTAssertEqual(URLRedaction.redact("https://h.example"), "https://h.example")
        XCTAssertEqual(URLRedaction.redact("https://h.example/?flag"), "https://h.example/?***", "a bare ?TOKEN is a value")
        XCTAssertEqual(URLRedaction.redact("https://h.example/in;sid=ab1;x/y?a=1&&b"), "https://h.example/in;sid=***;***/y?a=***&&***")
    }

    func testBackoff() {
        let b = Backoff(base: 1, cap: 60)
        XCTAssertEqual(b.ceiling(afterFailures: 1), 1)
        XCTAssertEqual(b.ceiling(afterFailures: 4), 8)
        XCTAssertEqual(b.ceiling(afterFailures: 20), 60)
        XCTAssertEqual(b.delay(afterFailures: 3, random: 0), 2)
        XCTAssertEqual(b.delay(afterFailures: 3, random: 0.999_999), 4, accuracy: 0.001)
        XCTAssertEqual(b.delay(afterFailures: 1, retryAfter: 30, random: 0), 30)
        XCTAssertEqual(b.delay(afterFailures: 1, retryAfter: 600, random: 0), 60, "Retry-After is honoured up to the cap")
        XCTAssertEqual(parseRetryAfter(" 7 "), 7)
        XCTAssertNil(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"))
    }
}
