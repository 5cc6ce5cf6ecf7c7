internal import CLibPQ

/// The rows of one statement, in text format. Owns its `PGresult`.
public final class PostgresResult {
    private let handle: OpaquePointer
    public let rowCount: Int
    public let columnCount: Int
    private let columnIndex: [String: Int]

    init(handle: OpaquePointer) {
        self.handle = handle
        rowCount = Int(PQntuples(handle))
        columnCount = Int(PQnfields(handle))
        var index: [String: Int] = [:]
        for c in 0..<columnCount { index[String(cString: PQfname(handle, Int32(c)))] = c }
        columnIndex = index
    }

    deinit { PQclear(handle) }

    /// Rows changed by an INSERT/UPDATE/DELETE (or copied by COPY).
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    /// The index of a column; throws (naming it and `statement`) when the result has none.
    public func column(_ name: String, statement: String = "query") throws -> Int {
        guard let c = columnIndex[name] else {
            throw PostgresDecodingError(statement: statement, column: name, expected: "a column", found: nil, missingColumn: true)
        }
        return c
    }

    /// The statement these rows answer (named in decoding errors).
    var statementName = "query"

    public func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(handle, Int32(row), Int32(column)) == 1
    }

    /// A non-negative integer value (bigserial, xid8) parsed from its text without building a
    /// String; 0 for NULL.
    public func unsigned(_ row: Int, _ column: Int) -> UInt64 { PostgresValueBytes.unsigned(handle, row, column) }

    /// The length in bytes of a value (0 for NULL).
    public func length(_ row: Int, _ column: Int) -> Int {
        Int(PQgetlength(handle, Int32(row), Int32(column)))
    }

    public func string(_ row: Int, _ column: Int) -> String? {
        if isNull(row, column) { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    /// The raw UTF-8 bytes of a value, valid only inside `body`: lets hot paths encode
    /// rows without building a `String` per field.
    public func withBytes<R>(_ row: Int, _ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        try PostgresValueBytes.with(handle, row, column, body)
    }

    public var rows: [PostgresRow] { (0..<rowCount).map { PostgresRow(result: self, index: $0) } }
}

/// One row of a result, read by column name. `decode` throws an error naming the column and
/// the type; the optional accessors (`string`, `int`, ...) are for ad hoc queries (tests,
/// scripts), where NULL and a missing value look alike.
public struct PostgresRow {
    public let result: PostgresResult
    public let index: Int

    /// The column's value; throws when it is missing, NULL or not a `T`.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let value = try decode(name, as: Optional<T>.self) else {
            throw PostgresDecodingError(statement: result.statementName, column: name, expected: T.postgresTypeName,
                                        found: nil, missingColumn: false)
        }
        return value
    }

    /// The column's value or nil for NULL; throws when it is missing or not a `T`.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T?.Type) throws -> T? {
        let column = try result.column(name, statement: result.statementName)
        guard let text = result.string(index, column) else { return nil }
        guard let value = T(postgresText: text) else {
            throw PostgresDecodingError(statement: result.statementName, column: name, expected: T.postgresTypeName,
                                        found: text, missingColumn: false)
        }
        return value
    }

    public func string(_ name: String) -> String? {
        (try? result.column(name)).flatMap { result.string(index, $0) }
    }
    public func isNull(_ name: String) -> Bool { string(name) == nil }

    /// The text of a column that must hold one; throws naming the column otherwise.
    public func requiredString(_ name: String) throws -> String { try decode(name) }
    public func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }
    public func int64(_ name: String) -> Int64? { string(name).flatMap { Int64($0) } }
    public func double(_ name: String) -> Double? { string(name).flatMap { Double($0) } }
    public func bool(_ name: String) -> Bool? { string(name).map { $0 == "t" } }
}

/// One row of a statement read row by row (`PostgresConnection.streamPending`): valid only
/// during the call it is handed to.
public struct PostgresStreamedRow {
    fileprivate let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    /// The index of a column, or nil when there is none by that name.
    public func column(_ name: String) -> Int? {
        let index = PQfnumber(handle, name)
        return index < 0 ? nil : Int(index)
    }

    public func withBytes<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        try PostgresValueBytes.with(handle, 0, column, body)
    }

    /// A non-negative integer value (bigserial, xid8) from its text; 0 for NULL.
    public func unsigned(_ column: Int) -> UInt64 { PostgresValueBytes.unsigned(handle, 0, column) }

    /// A value in binary form that is 8 bytes (`bigint`, `xid8`, `timestamptz`): its
    /// big-endian integer; nil for NULL or another length.
    public func int64(_ column: Int) -> Int64? {
        withBytes(column) { bytes in
            guard let bytes, bytes.count == 8 else { return nil }
            return bytes.reduce(0) { $0 << 8 | Int64($1) }
        }
    }

    /// The bytes of all its values.
    public var byteCount: Int {
        (0..<PQnfields(handle)).reduce(0) { $0 + Int(PQgetlength(handle, 0, $1)) }
    }
}

/// Reading a value's bytes in place, for a whole result and for a streamed row alike.
enum PostgresValueBytes {
    static func with<R>(_ handle: OpaquePointer, _ row: Int, _ column: Int,
                        _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
        if PQgetisnull(handle, Int32(row), Int32(column)) == 1 { return try body(nil) }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        let raw = UnsafeRawPointer(PQgetvalue(handle, Int32(row), Int32(column))!)
        return try body(UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt8.self), count: length))
    }

    static func unsigned(_ handle: OpaquePointer, _ row: Int, _ column: Int) -> UInt64 {
        with(handle, row, column) { bytes in
            guard let bytes else { return 0 }
            var value: UInt64 = 0
            for b in bytes where b >= 0x30 && b <= 0x39 { value = value &* 10 &+ UInt64(b &- 0x30) }
            return value
        }
    }
}
