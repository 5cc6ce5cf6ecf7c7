/// Buffers rows in COPY text format and hands them to libpq in large chunks.
public final class CopyWriter {
    private var buffer: [UInt8] = []
    private let send: ([UInt8]) -> Int32
    private let chunkSize = 256 * 1024

    init(send: @escaping ([UInt8]) -> Int32) {
        self.send = send
        buffer.reserveCapacity(chunkSize + 4096)
    }

    /// Appends one row; `nil` is SQL NULL.
    public func writeRow(_ values: [String?]) throws {
        for (i, value) in values.enumerated() {
            if i > 0 { buffer.append(UInt8(ascii: "\t")) }
            guard let value else { buffer.append(contentsOf: [0x5C, 0x4E]); continue }  // \N
            CopyWriter.appendEscaped(value, to: &buffer)
        }
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= chunkSize { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        guard send(buffer) == 1 else {
            throw PostgresError(kind: .connection, message: "COPY data could not be sent")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// COPY text format: backslash, tab, newline and carriage return are escaped.
    static func appendEscaped(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count {
                let byte = bytes[i]
                guard byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D else { continue }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                runStart = i + 1
                out.append(0x5C)
                switch byte {
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                default: out.append(0x5C)
                }
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
    }
}
