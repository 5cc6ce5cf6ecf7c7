internal import Postgres

/// A database error as the layers above the stores see it: what a person needs (SQLSTATE,
/// message, detail, constraint) and what a caller decides on, without naming libpq's wrapper.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The five-character SQLSTATE, e.g. `23505` for a unique violation.
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let constraint: String?
    /// The statement may not have reached the server, or the session is gone.
    public let isConnectionLoss: Bool
    /// Trying the same statement again later may well succeed (a connection loss, a statement
    /// timeout, a serialization failure or a deadlock).
    public let isTransient: Bool

    public var description: String {
        var text = message
        if let sqlState { text = "\(text) (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { text += "; \(detail)" }
        return text
    }

    init(_ e: PostgresError) {
        sqlState = e.sqlState
        message = e.message
        detail = e.detail
        constraint = e.constraint
        isConnectionLoss = e.isConnectionLoss
        isTransient = e.isTransient
    }

    init(_ e: PostgresDecodingError) {
        sqlState = nil
        message = e.description
        detail = nil
        constraint = nil
        isConnectionLoss = false
        isTransient = false
    }
}

/// A store's connection, private to it: every statement goes through here, and every error
/// leaves as a `StoreError`.
struct StoreConnection {
    let connection: PostgresConnection

    static func open(url: String, setup: String?, namedStatements: Bool) throws(StoreError) -> StoreConnection {
        try mapped { StoreConnection(connection: try PostgresConnection(conninfo: url, setup: setup, namedStatements: namedStatements)) }
    }

    @discardableResult
    func execute<S: PostgresStatement>(_ statement: S) throws(StoreError) -> [S.Row] {
        try mapped { try connection.execute(statement) }
    }

    func first<S: PostgresStatement>(_ statement: S) throws(StoreError) -> S.Row? {
        try mapped { try connection.execute(statement).first }
    }

    /// The single row a statement always returns (a function call).
    func one<S: PostgresStatement>(_ statement: S) throws(StoreError) -> S.Row {
        guard let row = try first(statement) else {
            throw StoreError(PostgresError(kind: .unexpected, message: "\(S.self) returned no row"))
        }
        return row
    }

    func result<S: PostgresStatement>(of statement: S) throws(StoreError) -> PostgresResult {
        try mapped { try connection.result(of: statement) }
    }

    func script(_ sql: String) throws(StoreError) {
        try mapped { try connection.execute(script: sql) }
    }

    func send<S: PostgresStatement>(_ statement: S, binaryResults: Bool = false) throws(StoreError) {
        try mapped { try connection.send(statement, binaryResults: binaryResults) }
    }

    func streamPending(_ row: (PostgresStreamedRow) throws -> Bool) throws(StoreError) {
        try mapped { try connection.streamPending(row) }
    }

    var hasPending: Bool { connection.hasPending }

    func transaction<T>(_ body: () throws -> T) throws(StoreError) -> T {
        try mapped { try connection.transaction(body) }
    }

    func copyIn(_ sql: String, _ body: (CopyWriter) throws -> Void) throws -> Int {
        do {
            return try connection.copyIn(sql, body)
        } catch let e as PostgresError {
            throw StoreError(e)
        }
    }
}

/// Runs `body`, turning the wrapper's errors into `StoreError`s.
func mapped<T>(_ body: () throws -> T) throws(StoreError) -> T {
    do {
        return try body()
    } catch let e as StoreError {
        throw e
    } catch let e as PostgresError {
        throw StoreError(e)
    } catch let e as PostgresDecodingError {
        throw StoreError(e)
    } catch {
        throw StoreError(PostgresError(kind: .unexpected, message: "\(error)"))
    }
}
