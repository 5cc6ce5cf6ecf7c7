import XCTest
@testable import DrainCore

final class IngestLineTests: XCTestCase {
    private func parse(_ s: String) throws(IngestError) -> IngestLine { try IngestLine.parse(Array(s.utf8)) }
    private func error(_ s: String) -> String? {
        do { _ = try parse(s); return nil } catch { return error.message }
    }

    func testParsesWireFormatLine() throws {
        let l = try parse(#"{"timestamp": "2026-02-17T10:30:00.123Z", "message": "a\"b\n\u00e9\ud83c\udf89", "level": "info", "fal_app_id": ""}"#)
        XCTAssertEqual(l[.message], "a\"b\né🎉")
        XCTAssertEqual(l[.falAppID], "")
        XCTAssertNil(l[.falJobID])
    }

    func testRefusals() {
        XCTAssertEqual(error("[1]"), "not a JSON object")
        XCTAssertEqual(error(#"{"timestamp": "2026-02-17T10:30:00Z", "level": "info"}"#), "missing field message")
        XCTAssertEqual(error(#"{"timestamp": "2026-02-17T10:30:00Z", "message": "m", "level": "info", "extra": "x"}"#), "unknown field \"extra\"")
        XCTAssertEqual(error(#"{"timestamp": "2026-02-17T10:30:00Z", "message": 5, "level": "info"}"#), "field message must be a string")
        XCTAssertEqual(error(#"{"timestamp": "2026-02-17T10:30:00Z", "message": null, "level": "info"}"#), "field message must be a string")
        XCTAssertEqual(error(#"{"timestamp": "2026-02-17T10:30:00Z", "message": "m", "level": "info", "level": "x"}"#), "field level appears twice")
        XCTAssertEqual(error(#"{"timestamp": "yesterday", "message": "m", "level": "info"}"#), "timestamp \"yesterday\" is not an RFC 3339 date-time")
        XCTAssertNotNil(error(#"{"timestamp": "2026-02-17T10:30:00Z", "message": "m\u0000", "level": "info"}"#))
        XCTAssertNotNil(error(#"{"timestamp": "2026-02-17T10:30:00Z", "message": "m", "level": "info"} x"#))
        XCTAssertNotNil(error(#"{"timestamp": "2026-02-17T10:30:00Z", "message": "m", "level": "info""#))
    }

    func testRFC3339() {
        for ok in ["2026-02-17T10:30:00Z", "2026-02-17T10:30:00.1Z", "2026-02-17T10:30:00.123456789+05:30",
                   "2026-02-17 10:30:00-08:00", "2024-02-29T00:00:00z", "2026-12-31T23:59:60Z"] {
            XCTAssertTrue(RFC3339.isValid(ok), ok)
        }
        for bad in ["2026-02-17", "2026-02-30T10:30:00Z", "2025-02-29T00:00:00Z", "2026-02-17T24:00:00Z",
                    "2026-02-17T10:30:00", "2026-02-17T10:30:00.Z", "2026-02-17T10:30:00+0530", "17/02/2026"] {
            XCTAssertFalse(RFC3339.isValid(bad), bad)
        }
    }
}

final class IngestLimitTests: XCTestCase {
    private func line(_ field: String, _ value: String) -> [UInt8] {
        var fields = ["timestamp": "2026-01-01T00:00:00Z", "message": "m", "level": "info"]
        fields[field] = value
        return Array(("{" + fields.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ") + "}").utf8)
    }

    func testProducerLimitsAtAndOverTheEdge() throws {
        XCTAssertNoThrow(try IngestLine.parse(line("message", String(repeating: "x", count: 1_048_576))))
        XCTAssertThrowsError(try IngestLine.parse(line("message", String(repeating: "x", count: 1_048_577)))) {
            XCTAssertTrue("\($0)".contains("message is 1048577 bytes"), "\($0)")
        }
        XCTAssertNoThrow(try IngestLine.parse(line("level", String(repeating: "l", count: 64))))
        XCTAssertThrowsError(try IngestLine.parse(line("level", String(repeating: "l", count: 65))))
        XCTAssertNoThrow(try IngestLine.parse(line("fal_app_name", String(repeating: "a", count: 1024))))
        XCTAssertThrowsError(try IngestLine.parse(line("fal_app_name", String(repeating: "a", count: 1025))))
        // Bytes, not characters: 512 two-byte characters are 1024 bytes.
        XCTAssertNoThrow(try IngestLine.parse(line("fal_node_id", String(repeating: "é", count: 512))))
        XCTAssertThrowsError(try IngestLine.parse(line("fal_node_id", String(repeating: "é", count: 513))))
    }
}
