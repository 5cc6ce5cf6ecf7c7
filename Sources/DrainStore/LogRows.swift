import DrainCore
internal import Postgres

/// The rows of a batch read (`SQL.Delivery.batchColumns`), grouped by drain, put in stream
/// order and handed to DrainCore's `BatchEncoder` in place.
enum LogRows {
    /// Encodes one drain's rows as they stream in (`ReadNextBatch`, sent row by row, binary): the
    /// statement orders them, the encoder applies the byte cap, and the first line past it
    /// cancels the rest, so no more than one batch is ever held. `expectedBytes` sizes the
    /// body's buffer (the drain's batch before is a good guess). Nil when there are no rows.
    static func stream(on connection: StoreConnection, expectedBytes: Int) throws(StoreError) -> Batch? {
        var encoder = BatchEncoder(expectedBytes: expectedBytes)
        var checkedColumns = false
        var last: (xact: UInt64, id: Int64)?
        var timestamp: [UInt8] = []
        timestamp.reserveCapacity(32)
        let timestampText = LogField.allCases.count + 2  // the column after the fields
        try connection.streamPending { row in
            if !checkedColumns {
                try checkStreamedColumns(of: row)
                checkedColumns = true
            }
            guard let xact = row.int64(0), let id = row.int64(1), let micros = row.int64(2) else {
                throw PostgresDecodingError(statement: "ReadNextBatch", column: "xact_id, id, timestamp",
                                            expected: "8-byte binary values", found: nil, missingColumn: false)
            }
            let position = (xact: UInt64(bitPattern: xact), id: id)
            // The statement's ORDER BY is the stream order; a row out of it is a bug, not data.
            if let last, !((last.xact, last.id) < (position.xact, position.id)) {
                throw PostgresDecodingError(statement: "ReadNextBatch", column: "xact_id, id", expected: "rows in stream order",
                                            found: "\(position) after \(last)", missingColumn: false)
            }
            last = position
            // Years 1 to 9999 come as integers only; any other `ts` as PostgreSQL's text too.
            let printedByPostgres = row.withBytes(timestampText) { $0 != nil }
            if !printedByPostgres { WireTimestamp.wire(microsecondsSince2000: micros, into: &timestamp) }
            return encoder.appendLine(xact: position.xact, id: position.id, timestampIsWire: !printedByPostgres) { field, emit in
                switch field {
                case .timestamp where printedByPostgres: row.withBytes(timestampText, emit)
                case .timestamp: timestamp.withUnsafeBufferPointer { emit($0) }
                default: row.withBytes(field.rawValue + 2, emit)
                }
            }
        }
        return encoder.finish(readCutNearCap: false)
    }

    /// The streamed select list is `xact_id, id`, the fields in `LogField` order, then
    /// `timestamp_text`, so each row is read by position; checked by name on the first row.
    private static func checkStreamedColumns(of row: PostgresStreamedRow) throws {
        let expected = ["xact_id", "id"] + LogField.allCases.map(\.key) + ["timestamp_text"]
        for (index, name) in expected.enumerated() where row.column(name) != index {
            throw PostgresDecodingError(statement: "ReadNextBatch", column: name, expected: "column \(index + 1)",
                                        found: row.column(name).map { "column \($0 + 1)" }, missingColumn: row.column(name) == nil)
        }
    }

    static func batches(in result: PostgresResult) throws(StoreError) -> [String: Batch] {
        let (drainColumn, xactColumn, idColumn, fieldColumns) = try mapped {
            (try result.column("drain_id"), try result.column("xact_id"), try result.column("id"),
             try LogField.allCases.map { try result.column($0.key) })
        }
        // Group each drain's rows and put them in commit order: (xact_id, id). Rows of one
        // drain arrive together, so the id string is only built when it changes.
        var rowsByDrain: [String: [(xact: UInt64, id: Int64, row: Int)]] = [:]
        var current = ""
        var currentBytes: [UInt8] = []
        var currentRows: [(xact: UInt64, id: Int64, row: Int)] = []
        for row in 0..<result.rowCount {
            let same = result.withBytes(row, drainColumn) { bytes in
                guard let bytes, bytes.count == currentBytes.count else { return false }
                return currentBytes.withUnsafeBufferPointer { $0.elementsEqual(bytes) }
            }
            if !same {
                if !currentRows.isEmpty { rowsByDrain[current, default: []] += currentRows }
                current = result.string(row, drainColumn) ?? ""
                currentBytes = Array(current.utf8)
                currentRows = []
                currentRows.reserveCapacity(result.rowCount - row)
            }
            currentRows.append((xact: result.unsigned(row, xactColumn), id: Int64(result.unsigned(row, idColumn)), row: row))
        }
        if !currentRows.isEmpty { rowsByDrain[current, default: []] += currentRows }
        var batches: [String: Batch] = [:]
        for (drainID, var rows) in rowsByDrain {
            if !zip(rows, rows.dropFirst()).allSatisfy({ ($0.xact, $0.id) < ($1.xact, $1.id) }) {
                rows.sort { ($0.xact, $0.id) < ($1.xact, $1.id) }
            }
            var valueBytes = 0
            for row in rows { for column in fieldColumns { valueBytes += result.length(row.row, column) } }
            var encoder = BatchEncoder(lines: rows.count, valueBytes: valueBytes)
            for row in rows {
                let added = encoder.appendLine(xact: row.xact, id: row.id) { field, emit in
                    result.withBytes(row.row, fieldColumns[field.rawValue], emit)
                }
                if !added { break }
            }
            batches[drainID] = encoder.finish()
        }
        return batches
    }
}
