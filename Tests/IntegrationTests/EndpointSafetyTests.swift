import Foundation
import Postgres
import XCTest

/// DESIGN §2.16-2.17: the address policy runs before a connection is opened, and ambient
/// proxies are never used.
final class EndpointSafetyTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    override func tearDownWithError() throws { try h?.disableAllDrains() }

    /// A plain TCP listener on a loopback port: how many connections reached it.
    private final class Listener {
        let fd: Int32
        let port: Int

        init() throws {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(s, 64) == 0 else { close(s); throw XCTSkip("cannot listen on loopback") }
            var out = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &out) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
            }
            _ = fcntl(s, F_SETFL, O_NONBLOCK)
            fd = s
            port = Int(UInt16(bigEndian: out.sin_port))
        }

        /// Connections the kernel completed (a refused endpoint must have none).
        func acceptedConnections() -> Int {
            var n = 0
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return n }
                close(c)
                n += 1
            }
        }

        deinit { close(fd) }
    }

    func testRefusedEndpointsGetNoConnectionAttemptByIPOrByName() throws {
        let listener = try Listener()
        var ids: [String] = []
        for host in ["127.0.0.1", "localhost"] {
            let a = try h.makeAccount()
            let r = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "to \(host)",
                                                  "--url", "https://\(host):\(listener.port)/intake", "--secret-file", h.secretFile,
                                                  "--skip-test", "--json", "--allow-private-endpoints"])
            XCTAssertEqual(r.status, 0, r.stderr)
            ids.append(r.object["id"] as? String ?? "")
            try insertLogs(try h.connect(), account: a.id, messages: ["never sent"])
        }
        let w = try WorkerProcess(h, name: unique("strict"), allowPrivate: false)
        defer { w.stop() }
        try waitUntil(15, "both refusals recorded") {
            try ids.allSatisfy { ((try h.show($0))["consecutive_failures"] as? Int ?? 0) >= 2 }
        }
        for id in ids {
            let error = (try h.show(id))["last_error"] as? String ?? ""
            XCTAssertTrue(error.contains("loopback") && error.contains("refused"), error)
        }
        XCTAssertEqual(listener.acceptedConnections(), 0, "a refused endpoint received a TCP connection")
    }

    func testAmbientProxyVariablesAreIgnored() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("proxy"))"
        _ = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["direct"])
        let dead = "http://127.0.0.1:9"
        let w = try WorkerProcess(h, name: unique("proxy"), env: [
            "HTTPS_PROXY": dead, "https_proxy": dead, "ALL_PROXY": dead, "all_proxy": dead, "HTTP_PROXY": dead,
        ])
        defer { w.stop() }
        try waitUntil(10, "delivered directly") { h.received(path).flatMap(\.messages) == ["direct"] }
    }

    func testExplicitProxyIsUsed() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("viaproxy"))"
        let id = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["through the proxy"])
        // Nothing listens on port 9: every attempt fails at the proxy, so nothing arrives directly.
        let w = try WorkerProcess(h, name: unique("viaproxy"), extraArgs: ["--proxy", "http://127.0.0.1:9"])
        defer { w.stop() }
        try waitUntil(10, "a failure at the proxy") { ((try h.show(id))["consecutive_failures"] as? Int ?? 0) >= 1 }
        XCTAssertTrue(h.received(path).isEmpty)
        let error = (try h.show(id))["last_error"] as? String ?? ""
        XCTAssertTrue(error.contains("connect"), error)
    }

    func testBadProxyFlagIsOneLineExitTwo() throws {
        let r = try runTool(h, "drain-worker", ["--proxy", "ftp://x"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("drain-worker: error: proxy:"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
    }
}
