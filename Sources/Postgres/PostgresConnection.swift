#if canImport(Glibc)
import Glibc
#endif
internal import CLibPQ

/// One libpq connection. Not thread-safe: use it from one thread at a time.
public final class PostgresConnection {
    private var handle: OpaquePointer?
    private let conninfo: String
    private let setup: String?
    /// Names of statements prepared on the current session (a reconnect forgets them).
    private var prepared: Set<String> = []
    /// False behind a transaction-pooling proxy (pgbouncer `pool_mode = transaction`), where a
    /// statement prepared on one server connection is unknown on the next: every statement then
    /// goes as an unnamed one (parse, bind and execute in one exchange).
    public let usesNamedStatements: Bool

    /// Connects with a `postgresql://` URL or `key=value` conninfo; an empty string
    /// means libpq's own defaults (`PGHOST`, `PGPORT`, `PGUSER`, ...). `setup` (e.g. `SET`
    /// statements) runs after every connect, including reconnects.
    public init(conninfo: String, setup: String? = nil, namedStatements: Bool = true) throws {
        self.conninfo = conninfo
        self.setup = setup
        self.usesNamedStatements = namedStatements
        try connect()
    }

    deinit { if let handle { PQfinish(handle) } }

    private func connect() throws {
        if let handle { PQfinish(handle) }
        handle = nil
        guard let conn = PQconnectdb(conninfo) else {
            throw PostgresError(kind: .connection, message: "out of memory allocating a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let error = PostgresError(kind: .connection, message: PostgresError.connectionMessage(conn))
            PQfinish(conn)
            throw error
        }
        // Notices (e.g. "relation already exists, skipping") are not errors: keep stderr clean.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        handle = conn
        prepared.removeAll()
        if let setup { _ = try check(PQexec(conn, setup)) }
    }

    public var isConnected: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Reconnects if the connection was lost; a no-op while it is healthy.
    public func ensureConnected() throws {
        if !isConnected { try connect() }
    }

    /// Runs one statement with bound parameters (text format) and returns its rows: for ad hoc
    /// queries (tests, scripts). The product's statements are `PostgresStatement` types.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresParameter] = []) throws -> PostgresResult {
        try run(sql: sql, preparedName: nil, texts: parameters.map(\.postgresText))
    }

    /// Runs a typed statement and decodes its rows.
    @discardableResult
    public func execute<S: PostgresStatement>(_ statement: S) throws -> [S.Row] {
        let result = try self.result(of: statement)
        return try (0..<result.rowCount).map { try statement.decodeRow(PostgresRow(result: result, index: $0)) }
    }

    /// Runs a typed statement and returns its rows undecoded, for hot paths that read values
    /// in place (`PostgresResult.withBytes`) rather than build a value per row.
    public func result<S: PostgresStatement>(of statement: S) throws -> PostgresResult {
        let result = try run(sql: S.sql, preparedName: S.preparedName, texts: statement.makeBindings().texts)
        result.statementName = String(describing: S.self)
        return result
    }

    /// Whether a statement sent with `send` waits to be finished.
    public private(set) var hasPending = false

    /// Sends a typed statement without waiting for its rows, so the server works on it while
    /// this thread does something else. Its rows come one at a time (libpq's single-row mode)
    /// and are taken with `streamPending`, so a reader can stop at a byte budget without
    /// holding the rest. One at a time, and no other statement on this connection until it is
    /// taken. With `binaryResults`, values come in PostgreSQL's binary form (text as its
    /// bytes, integers and timestamps as big-endian integers), which spares the server
    /// formatting them and the reader parsing them.
    public func send<S: PostgresStatement>(_ statement: S, binaryResults: Bool = false) throws {
        precondition(!hasPending, "one statement in flight at a time")
        try ensureConnected()
        let texts = statement.makeBindings().texts
        let format: Int32 = binaryResults ? 1 : 0
        let sent: Int32
        if let name = S.preparedName, usesNamedStatements {
            try prepareIfNeeded(name, S.sql)
            sent = withCStrings(texts) { PQsendQueryPrepared(handle, name, Int32($0.count), $0, nil, nil, format) }
        } else {
            sent = withCStrings(texts) { PQsendQueryParams(handle, S.sql, Int32($0.count), nil, $0, nil, nil, format) }
        }
        guard sent == 1 else { throw PostgresError.from(result: nil, connection: handle) }
        // Must follow the send at once, before any result is read; it fails only then.
        precondition(PQsetSingleRowMode(handle) == 1, "single-row mode right after a send")
        hasPending = true
    }

    /// Takes the rows of the statement `send` sent, calling `row` for
    /// each as it arrives (each row's memory is released once `row` returns). When `row`
    /// returns false (or throws) the rest is not wanted: the server is asked to cancel it, and
    /// what still arrives is read and dropped, so the connection is free again. Should more
    /// than `dropAtMost` bytes arrive after that (no cancel is sent behind a pooler; or it did
    /// not reach the server), the connection is closed instead, and the next statement
    /// reconnects. After a cancel the budget is 16 times larger: the socket buffers and the
    /// server's last packets can hold several large rows. Throws the statement's error (or
    /// `row`'s), not the cancel's.
    public func streamPending(dropAtMost: Int = 4 << 20, _ row: (PostgresStreamedRow) throws -> Bool) throws {
        precondition(hasPending, "no statement in flight")
        hasPending = false
        var stopped = false
        var dropBudget = dropAtMost
        var dropped = 0
        var failure: (any Error)?
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                let streamed = PostgresStreamedRow(handle: result)
                if stopped {
                    dropped += streamed.byteCount
                    if dropped > dropBudget {
                        disconnect()  // the result itself is cleared on the way out
                        if let failure { throw failure }
                        return
                    }
                    continue
                }
                do {
                    if try !row(streamed) {
                        stopped = true
                        if cancelRunningStatement() { dropBudget = dropAtMost * 16 }
                    }
                } catch {
                    failure = error
                    stopped = true
                    if cancelRunningStatement() { dropBudget = dropAtMost * 16 }
                }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                continue
            default:
                let error = PostgresError.from(result: result, connection: handle)
                if failure == nil, !(stopped && error.sqlState == "57014") { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// Closes the session; the next statement opens a new one.
    private func disconnect() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared.removeAll()
    }

    /// Asks the server to stop the statement running on this connection (a new connection
    /// carries the request). libpq waits until the server has taken it, so on a direct
    /// connection it cannot land on a later statement; if the statement already ended,
    /// nothing happens. Behind a transaction pooler (`usesNamedStatements` false) nothing is
    /// sent: an older pgbouncer could forward the request late, onto whatever statement its
    /// server connection runs by then, another client's included; the rest is dropped or the
    /// connection closed instead.
    /// Returns whether the request was sent.
    private func cancelRunningStatement() -> Bool {
        guard usesNamedStatements, let cancel = PQgetCancel(handle) else { return false }
        defer { PQfreeCancel(cancel) }
        var message = [CChar](repeating: 0, count: 256)
        return PQcancel(cancel, &message, Int32(message.count)) == 1
    }

    /// A statement with a name is prepared once per session (a reconnect forgets them), so hot
    /// paths skip parsing and planning; without one, or behind a transaction pooler, it is sent
    /// unnamed (parse, bind and execute in one exchange).
    private func prepareIfNeeded(_ name: String, _ sql: String) throws {
        guard !prepared.contains(name) else { return }
        _ = try check(PQprepare(handle, name, sql, 0, nil))
        prepared.insert(name)
    }

    private func run(sql: String, preparedName: String?, texts: [String?]) throws -> PostgresResult {
        try ensureConnected()
        guard let name = preparedName, usesNamedStatements else {
            let result = withCStrings(texts) { pointers in
                PQexecParams(handle, sql, Int32(pointers.count), nil, pointers, nil, nil, 0)
            }
            return try check(result)
        }
        try prepareIfNeeded(name, sql)
        let result = withCStrings(texts) { pointers in
            PQexecPrepared(handle, name, Int32(pointers.count), pointers, nil, nil, 0)
        }
        return try check(result)
    }

    /// Runs a script of several statements without parameters (migrations, DDL).
    public func execute(script: String) throws {
        try ensureConnected()
        _ = try check(PQexec(handle, script))
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute(script: "BEGIN")
        do {
            let value = try body()
            try execute(script: "COMMIT")
            return value
        } catch {
            if isConnected { _ = try? execute(script: "ROLLBACK") }
            throw error
        }
    }

    /// Streams rows in through `COPY ... FROM STDIN` (text format). If `body` throws, the
    /// copy is aborted, the server discards every row of it, and the error is rethrown.
    @discardableResult
    public func copyIn(_ sql: String, _ body: (CopyWriter) throws -> Void) throws -> Int {
        try ensureConnected()
        let start = try checkStatus(PQexec(handle, sql), expect: PGRES_COPY_IN)
        _ = start
        let writer = CopyWriter(send: { [handle] bytes in
            bytes.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
            }
        })
        do {
            try body(writer)
            try writer.flush()
        } catch {
            PQputCopyEnd(handle, "aborted by client")
            drainResults()
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            throw PostgresError(kind: .connection, message: PostgresError.connectionMessage(handle))
        }
        let result = try check(PQgetResult(handle))
        drainResults()
        return result.affectedRows
    }

    private func drainResults() {
        while let r = PQgetResult(handle) { PQclear(r) }
    }

    private func check(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else { throw PostgresError.from(result: nil, connection: handle) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(handle: result)
        default:
            let error = PostgresError.from(result: result, connection: handle)
            PQclear(result)
            throw error
        }
    }

    private func checkStatus(_ result: OpaquePointer?, expect: ExecStatusType) throws -> Bool {
        guard let result else { throw PostgresError.from(result: nil, connection: handle) }
        defer { PQclear(result) }
        guard PQresultStatus(result) == expect else {
            throw PostgresError.from(result: result, connection: handle)
        }
        return true
    }
}

/// Calls `body` with C strings for `texts` (nil stays NULL), valid only during the call.
private func withCStrings<R>(_ texts: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var owned: [UnsafeMutablePointer<CChar>?] = texts.map { $0.map { strdup($0)! } }
    defer { for p in owned { free(p) } }
    return owned.withUnsafeMutableBufferPointer { buf in
        body(buf.map { UnsafePointer($0) })
    }
}
