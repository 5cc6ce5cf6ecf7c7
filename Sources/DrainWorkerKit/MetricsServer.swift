import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP endpoint for Prometheus scrapes, on its own thread (blocking accept), so it
/// never touches the delivery loop. Every request gets the metrics text.
public enum MetricsServer {
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func start(address: String, metrics: WorkerMetrics, worker: String) throws {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw StartError(description: "metrics-address: must be HOST:PORT (got \(address))")
        }
        let host = String(address[..<colon])
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "metrics-address: socket() failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host.isEmpty ? "0.0.0.0" : (host == "localhost" ? "127.0.0.1" : host), &addr.sin_addr) == 1 else {
            close(fd)
            throw StartError(description: "metrics-address: \(host) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw StartError(description: "metrics-address: cannot listen on \(address): \(String(cString: strerror(errno)))")
        }
        let thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { continue }
                var buffer = [UInt8](repeating: 0, count: 2048)
                _ = read(client, &buffer, buffer.count)
                let body = metrics.render(worker: worker)
                let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                _ = response.withCString { write(client, $0, strlen($0)) }
                close(client)
            }
        }
        thread.name = "metrics"
        thread.start()
    }
}
