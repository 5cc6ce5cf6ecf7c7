internal import CLibPQ

/// An error from libpq or the server, with what a person needs to act on it.
public struct PostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Could not connect, or the connection was lost.
        case connection
        /// The server rejected a statement (see `sqlState`).
        case server
        /// libpq returned something this wrapper did not expect.
        case unexpected
    }

    public let kind: Kind
    /// The five-character SQLSTATE, e.g. `23505` for a unique violation.
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    public let constraint: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil,
                hint: String? = nil, constraint: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// True when the statement may not have reached the server or the session is gone:
    /// connection failures, admin shutdown (57P01..57P03) and class 08.
    public var isConnectionLoss: Bool {
        if kind == .connection { return true }
        guard let s = sqlState else { return false }
        return s.hasPrefix("08") || s == "57P01" || s == "57P02" || s == "57P03"
    }

    /// True when trying the same statement again later may well succeed: a connection loss,
    /// a statement cancelled by `statement_timeout` (57014), a serialization failure or a
    /// deadlock (40001, 40P01).
    public var isTransient: Bool {
        isConnectionLoss || sqlState == "57014" || sqlState == "40001" || sqlState == "40P01"
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        var text = message
        if let sqlState { text = "\(text) (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { text += "; \(detail)" }
        return text
    }

    static func from(result: OpaquePointer?, connection: OpaquePointer?) -> PostgresError {
        guard let result else {
            return PostgresError(kind: .connection, message: connectionMessage(connection))
        }
        func field(_ code: Int32) -> String? {
            guard let p = PQresultErrorField(result, code) else { return nil }
            return String(cString: p)
        }
        let state = field(Int32(UInt8(ascii: "C")))
        let primary = field(Int32(UInt8(ascii: "M")))
            ?? String(cString: PQresultErrorMessage(result)).firstLine()
        let lost = PQstatus(connection) == CONNECTION_BAD
        return PostgresError(
            kind: lost && state == nil ? .connection : .server,
            sqlState: state,
            message: primary.isEmpty ? connectionMessage(connection) : primary,
            detail: field(Int32(UInt8(ascii: "D"))),
            hint: field(Int32(UInt8(ascii: "H"))),
            constraint: field(Int32(UInt8(ascii: "n"))))
    }

    static func connectionMessage(_ connection: OpaquePointer?) -> String {
        guard let connection, let p = PQerrorMessage(connection) else { return "connection failed" }
        let text = String(cString: p).firstLine()
        return text.isEmpty ? "connection failed" : text
    }
}

extension String {
    /// The first non-empty line: libpq messages can span lines; our errors are one line.
    func firstLine() -> String {
        split(separator: "\n").first.map(String.init) ?? ""
    }
}
