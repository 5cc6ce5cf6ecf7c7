import DrainCore
internal import Postgres

/// The rows of a batch read (`SQL.Delivery.batchColumns`), grouped by drain, put in stream
/// order and handed to DrainCore's `BatchEncoder` in place.
enum LogRows {
    /// The last stream position in a one-drain read, before encoding (nil: no rows).
    static func lastPosition(in result: PostgresResult) throws(StoreError) -> (xact: UInt64, id: Int64)? {
        let (xactColumn, idColumn) = try mapped { (try result.column("xact_id"), try result.column("id")) }
        var last: (xact: UInt64, id: Int64)?
        for row in 0..<result.rowCount {
            let position = (xact: result.unsigned(row, xactColumn), id: Int64(result.unsigned(row, idColumn)))
            if last.map({ ($0.xact, $0.id) < (position.xact, position.id) }) ?? true { last = position }
        }
        return last
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
