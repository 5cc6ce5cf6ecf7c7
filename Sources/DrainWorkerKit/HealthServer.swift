import Foundation
import Hummingbird
import Logging
import Synchronization

/// `--metrics-address`: `/metrics` (Prometheus text), `/healthz` (the process answers) and
/// `/readyz` (200 only while the database answers and the delivery loop turns), on Hummingbird's
/// own event loop threads, apart from both delivery threads.
public enum HealthServer {
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts serving and returns once the address is bound (or throws why it could not be).
    public static func start(address: String, metrics: WorkerMetrics, health: WorkerHealth, logger: Logger) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw StartError(description: "metrics-address: must be HOST:PORT (got \(address))")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }

        let router = Router()
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("healthz") { _, _ in text(.ok, "ok") }
        router.get("readyz") { _, _ in
            let r = health.readiness
            return text(r.ready ? .ok : .serviceUnavailable, r.reason)
        }
        var quiet = logger
        quiet.logLevel = .warning
        let started = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)),
                              onServerRunning: { _ in started.signal() }, logger: quiet)
        Task.detached {
            do { try await app.run() } catch {
                failure.withLock { $0 = error }
                started.signal()
            }
        }
        guard started.wait(timeout: .now() + 10) == .success else {
            throw StartError(description: "metrics-address: \(address) did not start listening within 10 s")
        }
        if let error = failure.withLock({ $0 }) {
            throw StartError(description: "metrics-address: cannot listen on \(address): \(error)")
        }
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: body + "\n")))
    }
}
