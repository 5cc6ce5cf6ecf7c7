/// One producer line for `drain-admin ingest`: a flat JSON object in the wire format.
/// Refused: not an object, a missing `timestamp`/`message`/`level`, an unknown or repeated
/// key, a non-string value, a NUL character, or a timestamp that is not RFC 3339.
public struct IngestLine: Sendable, Equatable {
    /// Values by `LogField.rawValue`; nil where the key is absent.
    public var values: [String?]

    public subscript(field: LogField) -> String? { values[field.rawValue] }

    public static func parse(_ line: [UInt8]) throws(IngestError) -> IngestLine {
        var parser = FlatJSONParser(line)
        var values = [String?](repeating: nil, count: LogField.allCases.count)
        try parser.parseObject { key, value throws(IngestError) in
            guard let field = LogField.byKey[key] else { throw IngestError("unknown field \(JSONString.encode(key))") }
            guard values[field.rawValue] == nil else { throw IngestError("field \(key) appears twice") }
            guard let value else { throw IngestError("field \(key) must be a string") }
            values[field.rawValue] = value
        }
        for field in LogField.allCases where field.isRequired && values[field.rawValue] == nil {
            throw IngestError("missing field \(field.key)")
        }
        if !RFC3339.isValid(values[LogField.timestamp.rawValue]!) {
            throw IngestError("timestamp \(JSONString.encode(values[0]!)) is not an RFC 3339 date-time")
        }
        for field in LogField.allCases where field != .timestamp {
            guard let size = values[field.rawValue]?.utf8.count, let limit = field.producerLimit, size > limit else { continue }
            throw IngestError("\(field.key) is \(size) bytes; at most \(limit) bytes are allowed")
        }
        return IngestLine(values: values)
    }
}

extension LogField {
    /// The producer limit on this field's UTF-8 bytes (§2.13); nil for the timestamp.
    public var producerLimit: Int? {
        switch self {
        case .timestamp: return nil
        case .message: return Limits.maxMessageBytes
        case .level: return Limits.maxLevelBytes
        default: return Limits.maxLabelBytes
        }
    }
}

public struct IngestError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// RFC 3339 `date-time` (any fraction length, `Z` or a numeric offset; `T` or space).
public enum RFC3339 {
    public static func isValid(_ s: String) -> Bool {
        let b = Array(s.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 20, let year = digits(0, 4), b[4] == 0x2D, let month = digits(5, 2), b[7] == 0x2D,
              let day = digits(8, 2), [0x54, 0x74, 0x20].contains(b[10]),
              let hour = digits(11, 2), b[13] == 0x3A, let minute = digits(14, 2), b[16] == 0x3A,
              let second = digits(17, 2) else { return false }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second <= 60 else { return false }
        var i = 19
        if i < b.count && b[i] == 0x2E {
            i += 1
            let start = i
            while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            if i == start { return false }
        }
        guard i < b.count else { return false }
        if b[i] == 0x5A || b[i] == 0x7A { return i + 1 == b.count }
        guard b[i] == 0x2B || b[i] == 0x2D, let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A,
              let om = digits(i + 4, 2), i + 6 == b.count else { return false }
        return oh < 24 && om < 60
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A strict parser for one JSON object whose values we only accept as strings.
struct FlatJSONParser {
    private let b: [UInt8]
    private var i = 0

    init(_ bytes: [UInt8]) { b = bytes }

    /// Calls `field` with each key and its string value (nil for any non-string value).
    mutating func parseObject(_ field: (String, String?) throws(IngestError) -> Void) throws(IngestError) {
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw IngestError("not a JSON object") }
        i += 1
        skipSpace()
        if peek == UInt8(ascii: "}") { i += 1; try end(); return }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw IngestError("invalid JSON: expected a key at byte \(i + 1)") }
            let key = try parseString()
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw IngestError("invalid JSON: expected ':' at byte \(i + 1)") }
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "\"") {
                try field(key, try parseString())
            } else {
                try skipValue()
                try field(key, nil)
            }
            skipSpace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            if peek == UInt8(ascii: "}") { i += 1; break }
            throw IngestError("invalid JSON: expected ',' or '}' at byte \(i + 1)")
        }
        try end()
    }

    private var peek: UInt8? { i < b.count ? b[i] : nil }

    private mutating func skipSpace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
    }

    private mutating func end() throws(IngestError) {
        skipSpace()
        if i != b.count { throw IngestError("invalid JSON: unexpected data after the object at byte \(i + 1)") }
    }

    private mutating func parseString() throws(IngestError) -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        var runStart = i
        while true {
            guard let c = peek else { throw IngestError("invalid JSON: unterminated string") }
            if c == 0x22 { out.append(contentsOf: b[runStart..<i]); i += 1; break }
            if c < 0x20 { throw IngestError("invalid JSON: raw control character in a string at byte \(i + 1)") }
            if c != 0x5C { i += 1; continue }
            out.append(contentsOf: b[runStart..<i])
            i += 1
            guard let e = peek else { throw IngestError("invalid JSON: unterminated string") }
            i += 1
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard peek == 0x5C, i + 1 < b.count, b[i + 1] == UInt8(ascii: "u") else {
                        throw IngestError("invalid JSON: unpaired surrogate in a string")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw IngestError("invalid JSON: unpaired surrogate in a string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw IngestError("invalid JSON: unpaired surrogate in a string")
                } else if scalar == 0 {
                    // PostgreSQL text cannot hold NUL.
                    throw IngestError("a string contains a NUL character (\\u0000)")
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default: throw IngestError("invalid JSON: bad escape at byte \(i)")
            }
            runStart = i
        }
        // Pure ASCII needs no validation (the common case, and much cheaper).
        if !out.contains(where: { $0 >= 0x80 }) { return String(decoding: out, as: UTF8.self) }
        guard let s = String(validating: out, as: UTF8.self) else { throw IngestError("invalid UTF-8 in a string") }
        return s
    }

    private mutating func hex4() throws(IngestError) -> UInt32 {
        guard i + 4 <= b.count else { throw IngestError("invalid JSON: bad \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw IngestError("invalid JSON: bad \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    /// Skips a non-string value (number, literal, array, object) just far enough to name it.
    private mutating func skipValue() throws(IngestError) {
        guard let c = peek else { throw IngestError("invalid JSON: missing value") }
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var inString = false
            while let d = peek {
                i += 1
                if inString {
                    if d == 0x5C { i += 1 } else if d == 0x22 { inString = false }
                    continue
                }
                if d == 0x22 { inString = true }
                if d == UInt8(ascii: "{") || d == UInt8(ascii: "[") { depth += 1 }
                if d == UInt8(ascii: "}") || d == UInt8(ascii: "]") { depth -= 1; if depth == 0 { return } }
            }
            throw IngestError("invalid JSON: unterminated value")
        default:
            let start = i
            while let d = peek, d != UInt8(ascii: ","), d != UInt8(ascii: "}"), d != 0x20, d != 0x09, d != 0x0A, d != 0x0D { i += 1 }
            let token = String(decoding: b[start..<i], as: UTF8.self)
            let isNumber = Double(token) != nil && token.first.map { $0 == "-" || $0.isNumber } == true
            guard ["true", "false", "null"].contains(token) || isNumber else {
                throw IngestError("invalid JSON at byte \(start + 1)")
            }
        }
    }
}
