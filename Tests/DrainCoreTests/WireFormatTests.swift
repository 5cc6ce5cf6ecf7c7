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

    /// The word test (eight bytes a step) against the byte rule: every byte value in every
    /// position of a word, and random words.
    func testTheWordTestFindsExactlyTheBytesThatNeedEscaping() {
        func byteRule(_ word: UInt64) -> Bool {
            (0..<8).contains { let b = UInt8(truncatingIfNeeded: word >> ($0 * 8)); return b < 0x20 || b == 0x22 || b == 0x5C }
        }
        for position in 0..<8 {
            for value in 0...255 {
                for filler: UInt8 in [0x61, 0x20, 0x23, 0x5D, 0x80, 0xFF] {
                    var word = UInt64(0)
                    for p in 0..<8 { word |= UInt64(p == position ? UInt8(value) : filler) << (p * 8) }
                    XCTAssertEqual(JSONString.wordNeedsEscape(word), byteRule(word), "byte \(value) at \(position) among \(filler)")
                }
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let word = rng.next() as UInt64
            XCTAssertEqual(JSONString.wordNeedsEscape(word), byteRule(word), String(word, radix: 16))
        }
    }

    /// The escaper against a byte-by-byte one: each escapable byte (and others) at each
    /// position of values up to three words long, so every word and tail path is taken.
    func testEscapingEightBytesAStepMatchesByteByByte() {
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for b in bytes {
                switch b {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0x08: out += Array("\\b".utf8)
                case 0x0C: out += Array("\\f".utf8)
                case ..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
                default: out.append(b)
                }
            }
            return out + [0x22]
        }
        func escaped(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            bytes.withUnsafeBufferPointer { JSONString.append($0, to: &out) }
            return out
        }
        for length in 0...24 {
            for position in 0..<max(length, 1) {
                for special: UInt8 in [0x00, 0x01, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x1F, 0x20, 0x22, 0x5C, 0x7F, 0xC3, 0xFF] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    if length > 0 { bytes[position] = special }
                    XCTAssertEqual(escaped(bytes), reference(bytes), "\(special) at \(position) of \(length)")
                    if length > 2 { bytes[length - 1] = 0x22; bytes[0] = 0x0A }
                    XCTAssertEqual(escaped(bytes), reference(bytes), "\(special) at \(position) of \(length), ends escaped")
                }
            }
        }
        var none: [UInt8] = []
        JSONString.append(UnsafeBufferPointer(start: nil, count: 0), to: &none)
        XCTAssertEqual(none, Array(#""""#.utf8), "no bytes at all: an empty string")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in
                Bool.random(using: &rng) ? UInt8(ascii: "x") : UInt8.random(in: 0...0xFF, using: &rng)
            }
            XCTAssertEqual(escaped(bytes), reference(bytes), "\(bytes)")
        }
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

    /// The binary read's timestamps (microseconds since 2000-01-01 UTC) in the wire format:
    /// exactly what the text rule makes of PostgreSQL's text of the same instant. The texts
    /// are Python's `datetime` (proleptic Gregorian, as PostgreSQL).
    func testWireFromBinaryMatchesTheTextRuleOnThePostgresCalendar() {
        let cases: [(Int64, String)] = [
            (0, "2000-01-01 00:00:00.000000+00"),
            (-1, "1999-12-31 23:59:59.999999+00"),
            (762_525_296_789_012, "2024-02-29 12:34:56.789012+00"),
            (-946_684_799_999_000, "1970-01-01 00:00:00.001000+00"),
            (-63_082_281_600_000_000, "0001-01-01 00:00:00.000000+00"),
            (252_455_615_999_999_999, "9999-12-31 23:59:59.999999+00"),
            (-3_150_579_600_000_000, "1900-02-28 23:00:00.000000+00"),
            (-3_150_576_000_000_000, "1900-03-01 00:00:00.000000+00"),
            (-12_617_661_171_999_910, "1600-02-29 06:07:08.000090+00"),
            (3_187_213_323_450_000, "2100-12-31 01:02:03.450000+00"),
        ]
        for (micros, text) in cases {
            var out: [UInt8] = []
            WireTimestamp.wire(microsecondsSince2000: micros, into: &out)
            XCTAssertNotNil(convert(text), "the wire conversion takes it")
            XCTAssertEqual(String(decoding: out, as: UTF8.self), convert(text), "\(micros): \(text)")
        }
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
