/// The NDJSON wire format of DESIGN §2.5: one JSON object per line, keys in the seed's order,
/// separators as in the product page's example (and Python's `json.dumps`): `", "` and `": "`.
public enum LogField: Int, CaseIterable, Sendable {
    case timestamp, message, level
    case falAppName, falAppID, falRequestID, falJobID, falEndpoint, falNodeID, falWorkerID, falSource, falIsolateSource

    /// The JSON key, which is also the `logs` column name (except `timestamp`, stored as `ts`):
    /// `keyPrefix` without its quotes, colon and space, so each key is spelled once.
    public var key: String {
        keyPrefix.withUTF8Buffer { String(decoding: UnsafeBufferPointer(rebasing: $0.dropFirst().dropLast(3)), as: UTF8.self) }
    }

    /// `"key": ` as the wire writes it before a value: a static string, so the hot path
    /// neither looks up nor retains anything per field.
    var keyPrefix: StaticString {
        switch self {
        case .timestamp: "\"timestamp\": "
        case .message: "\"message\": "
        case .level: "\"level\": "
        case .falAppName: "\"fal_app_name\": "
        case .falAppID: "\"fal_app_id\": "
        case .falRequestID: "\"fal_request_id\": "
        case .falJobID: "\"fal_job_id\": "
        case .falEndpoint: "\"fal_endpoint\": "
        case .falNodeID: "\"fal_node_id\": "
        case .falWorkerID: "\"fal_worker_id\": "
        case .falSource: "\"fal_source\": "
        case .falIsolateSource: "\"fal_isolate_source\": "
        }
    }

    public var column: String { self == .timestamp ? "ts" : key }
    public var isRequired: Bool { rawValue <= LogField.level.rawValue }

    public static let byKey: [String: LogField] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.key, $0) })
}

/// Appends NDJSON lines to a byte buffer without intermediate strings.
public struct NDJSONWriter {
    public private(set) var bytes: [UInt8] = []
    public private(set) var lineCount = 0
    private var fieldsInLine = 0

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func beginLine() {
        bytes.append(UInt8(ascii: "{"))
        fieldsInLine = 0
    }

    /// Appends `"key": "value"`; a nil value (SQL NULL) leaves the key out.
    public mutating func append(_ field: LogField, _ value: UnsafeBufferPointer<UInt8>?) {
        guard let value else { return }
        if fieldsInLine > 0 { bytes.append(UInt8(ascii: ",")); bytes.append(UInt8(ascii: " ")) }
        field.keyPrefix.withUTF8Buffer { bytes.append(contentsOf: $0) }
        JSONString.append(value, to: &bytes)
        fieldsInLine += 1
    }

    public mutating func append(_ field: LogField, _ value: String?) {
        guard var value else { return }
        value.withUTF8 { append(field, $0) }
    }

    public mutating func endLine() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
        lineCount += 1
    }

    /// Takes back the last line, which began at byte `start` (the byte cap: a line that would
    /// take the body over it goes into the next batch).
    public mutating func removeLastLine(startingAt start: Int) {
        precondition(lineCount > 0 && start <= bytes.count, "no line to remove")
        bytes.removeSubrange(start...)
        lineCount -= 1
    }
}

/// JSON string escaping identical to Python's `json.dumps(..., ensure_ascii=False)`:
/// quote, backslash and control characters escaped; everything else, non-ASCII included,
/// passed through as UTF-8.
public enum JSONString {
    /// The bytes that need escaping: control characters, quote, backslash. (A comparison, not
    /// a table: a static array is retained and released on every call.)
    @inline(__always)
    private static func needsEscape(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5C }

    @inline(__always)
    private static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x57 + n }

    /// Whether any of the eight bytes of `word` needs escaping: the classic tests for a byte
    /// below n (n <= 128) and for a zero byte, on the word and on it xor-ed with the quote and
    /// the backslash. The answer for the word is exact (no byte missed, none reported that is
    /// not there), though a single byte's flag bit may be wrong above a borrow.
    @inline(__always)
    static func wordNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highBits: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
        // One branch: the three tests' high bits or-ed (each exact on its own).
        let control = (word &- ones &* 0x20) & ~word
        return (control | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)) & highBits != 0
    }

    public static func append(_ value: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        guard let base = value.baseAddress else {
            out.append(UInt8(ascii: "\""))
            return
        }
        let count = value.count
        var runStart = 0, i = 0
        while i < count {
            // Most values need no escape at all: pass eight bytes a test while none does.
            if i + 8 <= count, !wordNeedsEscape(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                i += 8
                continue
            }
            let end = min(i + 8, count)
            while i < end {
                let b = base[i]
                i += 1
                guard needsEscape(b) else { continue }
                if runStart < i - 1 { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - 1 - runStart)) }
                runStart = i
                appendEscaped(b, to: &out)
            }
        }
        if runStart < count { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: count - runStart)) }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
        out.append(0x5C)
        switch b {
        case 0x22: out.append(0x22)
        case 0x5C: out.append(0x5C)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        default:
            out.append(UInt8(ascii: "u")); out.append(0x30); out.append(0x30)
            out.append(hexDigit(b >> 4)); out.append(hexDigit(b & 0xF))
        }
    }

    public static func encode(_ value: String) -> String {
        var out: [UInt8] = []
        var v = value
        v.withUTF8 { append($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }
}
