import Foundation
import XCTest
@testable import DrainCore

/// Property tests over generated inputs (a seeded generator, so a failure reproduces): what the
/// encoder writes always parses back to the same values, the ingest parser never crashes on
/// mangled input, and redaction never lets a planted token through.
final class PropertyTests: XCTestCase {
    /// `PROPERTY_SCALE=N` multiplies every test's case count (deploy/fuzz.sh runs long); the
    /// test command runs scale 1. `PROPERTY_SEED` changes the inputs.
    static let scale = Int(ProcessInfo.processInfo.environment["PROPERTY_SCALE"] ?? "") ?? 1
    static let seed = UInt64(ProcessInfo.processInfo.environment["PROPERTY_SEED"] ?? "") ?? 0

    /// SplitMix64: small, seedable, good enough to spread inputs.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Strings rich in what JSON escaping must get right: controls, quotes, backslashes,
    /// DEL, non-ASCII, astral characters.
    static func nastyString(_ g: inout Generator) -> String {
        let pool: [Unicode.Scalar] = ["\u{01}", "\u{1F}", "\n", "\r", "\t", "\"", "\\", "/", "\u{7F}", "é", "€", "\u{2028}",
                                      "😀", "a", "Z", "0", " ", "{", "}", ":", ","]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...40, using: &g) {
            if Bool.random(using: &g) {
                s.append(pool.randomElement(using: &g)!)
            } else if let u = Unicode.Scalar(UInt32.random(in: 1...0x10FFFF, using: &g)), !(0xD800...0xDFFF).contains(u.value) {
                s.append(u)
            }
        }
        return String(s)
    }

    func testEncoderOutputParsesBackToTheSameValues() throws {
        var g = Generator(state: 7 &+ Self.seed)
        for _ in 0..<(3000 * Self.scale) {
            var expected: [String: String] = ["timestamp": "2026-01-01T00:00:00.000Z"]
            var writer = NDJSONWriter()
            writer.beginLine()
            writer.append(.timestamp, expected["timestamp"])
            for field in LogField.allCases.dropFirst() where field.isRequired || Bool.random(using: &g) {
                var v = Self.nastyString(&g)
                if let limit = field.producerLimit, v.utf8.count > limit { v = String(v.unicodeScalars.prefix(limit / 4)) }
                expected[field.key] = v
                writer.append(field, v)
            }
            writer.endLine()
            XCTAssertEqual(writer.bytes.last, UInt8(ascii: "\n"))
            XCTAssertEqual(writer.bytes.filter { $0 == UInt8(ascii: "\n") }.count, 1, "one line, whatever the values")
            let object = try JSONSerialization.jsonObject(with: Data(writer.bytes.dropLast())) as? [String: String]
            XCTAssertEqual(object, expected)
            // And the ingest parser (the other producer path) reads the same line the same way.
            let parsed = try IngestLine.parse(Array(writer.bytes.dropLast()))
            for (key, value) in expected { XCTAssertEqual(parsed[LogField.byKey[key]!], value) }
        }
    }

    func testIngestParserNeverCrashesOnMangledLines() {
        var g = Generator(state: 11 &+ Self.seed)
        let valid = Array(#"{"timestamp": "2026-01-01T00:00:00Z", "message": "m \"q\" \u00e9", "level": "info", "fal_app_name": "a"}"#.utf8)
        var accepted = 0
        for _ in 0..<(20000 * Self.scale) {
            var line = valid
            for _ in 0..<Int.random(in: 1...4, using: &g) {
                let i = Int.random(in: 0..<line.count, using: &g)
                switch Int.random(in: 0..<3, using: &g) {
                case 0: line[i] = UInt8.random(in: 0...255, using: &g)
                case 1: line.remove(at: i)
                default: line.insert(UInt8.random(in: 0...255, using: &g), at: i)
                }
                if line.isEmpty { line = [UInt8(ascii: "{")] }
            }
            if (try? IngestLine.parse(line)) != nil { accepted += 1 }
        }
        XCTAssertLessThan(accepted, 20000 * Self.scale, "mangling must be noticed at least sometimes")
    }

    func testRedactionNeverShowsAPlantedToken() {
        var g = Generator(state: 13 &+ Self.seed)
        let token = "TOKEN0123456789x"
        for _ in 0..<(5000 * Self.scale) {
            let host = ["logs.example.com", "h.example:8443", "[2001:db8::1]:9000"].randomElement(using: &g)!
            var url = "https://"
            if Bool.random(using: &g) { url += "user:\(token)@" }
            url += host
            for _ in 0..<Int.random(in: 0...3, using: &g) {
                url += "/" + ["in", "v1", "a;k=\(token)", "p;\(token)", token].randomElement(using: &g)!
            }
            if Bool.random(using: &g) {
                url += "?" + (0..<Int.random(in: 1...3, using: &g)).map { _ in
                    ["api_key=\(token)", token, "x=1", "", "=\(token)"].randomElement(using: &g)!
                }.joined(separator: "&")
            }
            if Bool.random(using: &g) { url += "#\(token)" }
            XCTAssertFalse(URLRedaction.redact(url).contains(token), url)
            _ = try? Validate.endpointURL(url)  // never crashes
        }
    }

    func testResponseSnippetsShowNoValuesOrURLs() {
        let body = Array("error: bad key api_key=SECRET123 at https://u:p@h.example/x?t=SECRET456 \u{01}\u{1B}[31m".utf8)
        let snippet = DeliveryOutcome.safeSnippet(body)
        XCTAssertFalse(snippet.contains("SECRET"), snippet)
        XCTAssertTrue(snippet.allSatisfy { $0.isASCII && ($0 == " " || !$0.isWhitespace) }, snippet)
        XCTAssertTrue(snippet.hasPrefix("error: bad key api_key=***"), snippet)
    }
}
