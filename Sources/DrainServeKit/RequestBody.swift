import Foundation

/// A JSON request body as values of the JSON types, so each field's type is checked here and a
/// wrong one is answered with a 400 naming the field (not a decoder's coding path).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}

/// The fields of one JSON object body, read with their expected types. Unknown keys are refused,
/// so a misspelt `sampling_rate` is an error rather than a silent default.
struct JSONObjectBody {
    private let fields: [String: JSONValue]

    /// An empty body counts as `{}` (for `enable`, `disable`, `test`).
    init(_ text: String, allowed: Set<String>) throws(APIError) {
        if text.allSatisfy(\.isWhitespace) { fields = [:]; return }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            throw .invalid("body: not valid JSON", field: nil)
        }
        guard case .object(let object) = value else { throw .invalid("body: must be a JSON object", field: nil) }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalid("\(unknown): unknown field (allowed: \(allowed.sorted().joined(separator: ", ")))", field: unknown)
        }
        fields = object
    }

    func string(_ key: String) throws(APIError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .invalid("\(key): must be a string", field: key)
        }
    }

    func int(_ key: String) throws(APIError) -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case .int(let i)?: return i
        default: throw .invalid("\(key): must be an integer", field: key)
        }
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw .invalid("\(key): must be true or false", field: key)
        }
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let s = try string(key) else { throw .invalid("\(key): required", field: key) }
        return s
    }
}

/// `application/x-www-form-urlencoded` fields of the dashboard's forms.
struct FormBody {
    private(set) var fields: [String: String] = [:]

    init(_ text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let key = decode(parts[0])
            if fields[key] == nil { fields[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
    }

    subscript(_ key: String) -> String? { fields[key] }

    /// The trimmed value, nil when absent or blank.
    func text(_ key: String) -> String? {
        guard let v = fields[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }
}
