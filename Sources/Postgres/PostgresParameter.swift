/// A value that can be bound as a statement parameter, in PostgreSQL's text format.
/// Parameters are always bound with `PQexecParams`, never interpolated into SQL.
public protocol PostgresParameter {
    var postgresText: String? { get }
}

extension String: PostgresParameter { public var postgresText: String? { self } }
extension Substring: PostgresParameter { public var postgresText: String? { String(self) } }
extension Int: PostgresParameter { public var postgresText: String? { String(self) } }
extension Int32: PostgresParameter { public var postgresText: String? { String(self) } }
extension Int64: PostgresParameter { public var postgresText: String? { String(self) } }
extension Double: PostgresParameter { public var postgresText: String? { String(self) } }
extension Bool: PostgresParameter { public var postgresText: String? { self ? "t" : "f" } }
extension Optional: PostgresParameter where Wrapped: PostgresParameter {
    public var postgresText: String? { self?.postgresText }
}

/// A one-dimensional array literal (`{a,b}`) for `$1::text[]`-style parameters.
public struct PostgresArray: PostgresParameter {
    public let elements: [String?]
    public init(_ elements: [String?]) { self.elements = elements }
    public init<T: PostgresParameter>(_ values: [T]) { self.elements = values.map(\.postgresText) }

    public var postgresText: String? {
        var out = "{"
        for (i, e) in elements.enumerated() {
            if i > 0 { out += "," }
            guard let e else { out += "NULL"; continue }
            out += "\""
            for ch in e.unicodeScalars {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.unicodeScalars.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }
}
