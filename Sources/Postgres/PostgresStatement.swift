/// One statement as a type: its SQL, its bindings by name (the type's properties) and how a
/// row decodes, in one place — postgres-nio's `PostgresPreparedStatement` is the model. Callers
/// fill in named properties and never count `$n`; a column that is missing, NULL where a value
/// is required, or of the wrong shape throws a `PostgresDecodingError` naming it.
public protocol PostgresStatement: Sendable {
    associatedtype Row
    /// The statement, with `$1…$n` in the order `makeBindings` appends them.
    static var sql: String { get }
    /// Set for hot statements: prepared once per session under this name (unless the
    /// connection sends every statement unnamed, behind a transaction pooler).
    static var preparedName: String? { get }
    func makeBindings() -> PostgresBindings
    func decodeRow(_ row: PostgresRow) throws -> Row
}

extension PostgresStatement {
    public static var preparedName: String? { nil }
}

extension PostgresStatement where Row == Void {
    public func decodeRow(_ row: PostgresRow) throws {}
}

/// The values of a statement's `$1…$n`, appended in order by the statement that owns the SQL.
public struct PostgresBindings: Sendable {
    public private(set) var texts: [String?] = []

    public init() {}

    public init(_ values: any PostgresParameter...) {
        texts = values.map(\.postgresText)
    }

    public mutating func append(_ value: some PostgresParameter) {
        texts.append(value.postgresText)
    }

    public var count: Int { texts.count }
}

/// A row's value could not be read as the statement's type expects.
public struct PostgresDecodingError: Error, CustomStringConvertible, Sendable, Equatable {
    public let statement: String
    public let column: String
    public let expected: String
    /// The text found (nil: NULL, or the column is missing).
    public let found: String?
    public let missingColumn: Bool

    public init(statement: String, column: String, expected: String, found: String?, missingColumn: Bool) {
        self.statement = statement
        self.column = column
        self.expected = expected
        self.found = found
        self.missingColumn = missingColumn
    }

    public var description: String {
        if missingColumn { return "\(statement): the result has no column \(column)" }
        guard let found else { return "\(statement): column \(column) is NULL, expected \(expected)" }
        return "\(statement): column \(column) holds \"\(found.prefix(40))\", not \(expected)"
    }
}

/// A type a column's text decodes to.
public protocol PostgresDecodable {
    static var postgresTypeName: String { get }
    init?(postgresText: String)
}

extension String: PostgresDecodable {
    public static var postgresTypeName: String { "text" }
    public init?(postgresText: String) { self = postgresText }
}
extension Int: PostgresDecodable {
    public static var postgresTypeName: String { "integer" }
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Int64: PostgresDecodable {
    public static var postgresTypeName: String { "bigint" }
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Double: PostgresDecodable {
    public static var postgresTypeName: String { "double precision" }
    public init?(postgresText: String) { self.init(postgresText) }
}
extension Bool: PostgresDecodable {
    public static var postgresTypeName: String { "boolean" }
    public init?(postgresText: String) {
        switch postgresText {
        case "t": self = true
        case "f": self = false
        default: return nil
        }
    }
}
