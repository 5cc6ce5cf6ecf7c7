/// JSON for `--json` output, with keys in the order the contract lists them.
/// Shared by `drain-admin --json` and the JSON API (§6), which print the same objects.
public indirect enum JSONOutput: Sendable {
    case object([(String, JSONOutput)])
    case array([JSONOutput])
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    /// JSON text produced elsewhere (the database), embedded verbatim.
    case raw(String)

    public static func string(_ s: String?) -> JSONOutput { s.map { .string($0) } ?? .null }
    public static func int(_ i: Int?) -> JSONOutput { i.map { .int(Int64($0)) } ?? .null }

    /// Pretty-printed with two-space indentation.
    public func render(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        let end = String(repeating: "  ", count: indent)
        switch self {
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            let body = fields.map { "\(pad)\(JSONString.encode($0.0)): \($0.1.render(indent: indent + 1))" }
            return "{\n" + body.joined(separator: ",\n") + "\n\(end)}"
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { pad + $0.render(indent: indent + 1) }.joined(separator: ",\n") + "\n\(end)]"
        case .string(let s): return JSONString.encode(s)
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .raw(let text): return text
        }
    }
}

