/// Encodes log rows, in stream order, into one batch's NDJSON body, up to the byte cap
/// (§2.13). The rows' storage stays with the caller: each field's bytes are handed over in
/// place (`appendLine`), so no `String` is built per value.
public struct BatchEncoder {
    private var writer: NDJSONWriter
    private var timestamp: [UInt8] = []
    private var last: (xact: UInt64, id: Int64)?
    /// The byte cap ended the batch: the line offered last did not fit.
    public private(set) var isFull = false

    /// `valueBytes`: the bytes of the values to come, so the buffer is sized once (a guess that
    /// is too small doubles a megabyte buffer mid-batch).
    public init(lines: Int, valueBytes: Int) {
        // Keys and punctuation add at most ~230 bytes a line.
        let size = lines * 232 + valueBytes
        writer = NDJSONWriter(capacity: min(size + size / 16, Limits.maxBatchBytes + 1024))
        timestamp.reserveCapacity(32)
    }

    /// For rows that arrive one at a time (their total unknown): `expectedBytes` is a guess at
    /// the body, e.g. the drain's batch before; the buffer grows past it if need be.
    public init(expectedBytes: Int) {
        writer = NDJSONWriter(capacity: min(max(expectedBytes, 4096), Limits.maxBatchBytes + 1024))
        timestamp.reserveCapacity(32)
    }

    public var lineCount: Int { writer.lineCount }

    /// Appends the line at stream position (`xact`, `id`); `field(f, emit)` must call `emit`
    /// once with the bytes of field `f` (nil for NULL), valid only during that call: the
    /// timestamp as PostgreSQL's text, or with `timestampIsWire` already in the wire format
    /// (`WireTimestamp.wire`). Returns false, adding nothing, when the line would take the
    /// body over the byte cap (unless it is the batch's only line): the batch ends before it.
    public mutating func appendLine(xact: UInt64, id: Int64, timestampIsWire: Bool = false,
                                    _ field: (LogField, (UnsafeBufferPointer<UInt8>?) -> Void) -> Void) -> Bool {
        guard !isFull else { return false }
        let lineStart = writer.bytes.count
        writer.beginLine()
        for f in LogField.allCases {
            field(f) { bytes in
                // A timestamp outside the wire format's range (e.g. a BC date a producer
                // wrote) goes out as PostgreSQL printed it: odd, but never a stuck drain.
                guard f == .timestamp, let bytes, !timestampIsWire, WireTimestamp.fromPostgres(bytes, into: &timestamp) else {
                    return writer.append(f, bytes)
                }
                timestamp.withUnsafeBufferPointer { writer.append(f, $0) }
            }
        }
        writer.endLine()
        if writer.bytes.count > Limits.maxBatchBytes && writer.lineCount > 1 {
            writer.removeLastLine(startingAt: lineStart)
            isFull = true
            return false
        }
        last = (xact, id)
        return true
    }

    /// The batch of the lines appended; nil when there are none. `readCutNearCap`: the rows
    /// came from a read the server cut by raw bytes (see `Batch.cutByBytes`); a streamed read
    /// has no such cut, the encoder's is the only one.
    public func finish(readCutNearCap: Bool = true) -> Batch? {
        guard let last else { return nil }
        return Batch(body: writer.bytes, lines: writer.lineCount, endXact: String(last.xact), endID: last.id,
                     cutByBytes: isFull, readCutNearCap: readCutNearCap)
    }
}
