import XCTest
@testable import DrainCore

final class WireFormatTests: XCTestCase {
    private func line(_ values: [LogField: String?]) -> String {
        var w = NDJSONWriter()
        w.beginLine()
        for field in LogField.allCases { w.append(field, values[field] ?? nil) }
        w.endLine()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    func testKeysInSeedOrderAndAbsentWhenNil() {
        let text = line([.falNodeID: "node-1", .message: "m", .timestamp: "2026-02-17T10:30:00.123Z",
                         .level: "info", .falAppName: "my-model", .falIsolateSource: "iso"])
        XCTAssertEqual(text, #"{"timestamp": "2026-02-17T10:30:00.123Z", "message": "m", "level": "info", "fal_app_name": "my-model", "fal_node_id": "node-1", "fal_isolate_source": "iso"}"# + "\n")
    }

    func testEmptyStringIsAValue() {
        XCTAssertEqual(line([.timestamp: "t", .message: "", .level: "info", .falJobID: ""]),
                       #"{"timestamp": "t", "message": "", "level": "info", "fal_job_id": ""}"# + "\n")
    }

    /// The same bytes as Python's json.dumps(s, ensure_ascii=False).
    func testEscapingMatchesPythonJSON() {
        XCTAssertEqual(JSONString.encode("a\"b\\c"), #""a\"b\\c""#)
        XCTAssertEqual(JSONString.encode("l1\nl2\r\t\u{08}\u{0C}"), #""l1\nl2\r\t\b\f""#)
        XCTAssertEqual(JSONString.encode("\u{01}\u{1F}\u{00}"), #""\u0001\u001f\u0000""#)
        XCTAssertEqual(JSONString.encode("\u{7F}"), "\"\u{7F}\"")
        XCTAssertEqual(JSONString.encode("héllo \u{2028} 日本 🎉"), "\"héllo \u{2028} 日本 🎉\"")
        XCTAssertEqual(JSONString.encode("/"), "\"/\"")
    }

    func testLineCount() {
        var w = NDJSONWriter()
        for _ in 0..<3 { w.beginLine(); w.append(.message, "x"); w.endLine() }
        XCTAssertEqual(w.lineCount, 3)
        XCTAssertEqual(w.bytes.filter { $0 == 0x0A }.count, 3)
    }
}

final class WireTimestampTests: XCTestCase {
    private func convert(_ s: String) -> String? {
        var out: [UInt8] = []
        let ok = Array(s.utf8).withUnsafeBufferPointer { WireTimestamp.fromPostgres($0, into: &out) }
        return ok ? String(decoding: out, as: UTF8.self) : nil
    }

    func testConvertsPostgresISOToWireFormat() {
        XCTAssertEqual(convert("2026-02-17 10:30:00.123456+00"), "2026-02-17T10:30:00.123Z")
        XCTAssertEqual(convert("2026-02-17 10:30:00.9999+00"), "2026-02-17T10:30:00.999Z", "truncated, not rounded")
        XCTAssertEqual(convert("2026-02-17 10:30:00.5+00"), "2026-02-17T10:30:00.500Z")
        XCTAssertEqual(convert("2026-02-17 10:30:00+00"), "2026-02-17T10:30:00.000Z")
        XCTAssertNil(convert("2026-02-17 10:30:00+02"), "only UTC")
        XCTAssertNil(convert("0044-03-15 10:30:00+00 BC"))
        XCTAssertNil(convert("Tue Feb 17 10:30:00 2026 UTC"))
    }
}

final class NDJSONWriterCapTests: XCTestCase {
    func testRemoveLastLineRestoresTheBodyBeforeIt() {
        var w = NDJSONWriter()
        w.beginLine(); w.append(.message, "one"); w.endLine()
        let before = w.bytes
        let start = w.bytes.count
        w.beginLine(); w.append(.message, "two"); w.endLine()
        w.removeLastLine(startingAt: start)
        XCTAssertEqual(w.bytes, before)
        XCTAssertEqual(w.lineCount, 1)
    }
}
