import DrainCore
import Foundation

extension Admin {
    /// Streams NDJSON from `path` (stdin when nil) into `logs` for `account`. Atomic: the first
    /// bad line, named by its number, aborts the COPY and nothing is ingested.
    /// Returns the number of lines ingested.
    public func ingest(account: String, path: String?) throws -> Int {
        try Validate.accountName(account)
        guard let accountID = try store.accountID(name: account) else { throw AdminError("account: no account named \(account)") }
        let fd: Int32
        if let path {
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw AdminError("file: cannot open \(path): \(String(cString: strerror(errno)))") }
        } else {
            fd = STDIN_FILENO
        }
        defer { if path != nil { close(fd) } }
        let count = try store.ingest(accountID: accountID) { emit in
            var number = 0
            try LineReader(fd: fd).forEach { line in
                number += 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank lines are skipped
                let parsed: IngestLine
                do { parsed = try IngestLine.parse(Array(line)) } catch {
                    throw AdminError("line \(number): \(error); nothing was ingested")
                }
                try emit(parsed)
            }
        }
        return count
    }
}

/// Reads a file descriptor line by line in large chunks (no per-line system calls).
struct LineReader {
    let fd: Int32

    func forEach(_ body: (ArraySlice<UInt8>) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var pending: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AdminError("read failed: \(String(cString: strerror(errno)))", kind: .failed)
            }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == 0x0A {
                if pending.isEmpty {
                    try body(buffer[start..<i])
                } else {
                    pending.append(contentsOf: buffer[start..<i])
                    try body(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            pending.append(contentsOf: buffer[start..<n])
        }
        if !pending.isEmpty { try body(pending[...]) }
    }
}
