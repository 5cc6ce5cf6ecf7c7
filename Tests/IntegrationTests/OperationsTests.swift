import Foundation
import Postgres
import XCTest

/// What operators watch and rely on: the worker's Prometheus metrics, its health and readiness
/// endpoints, and the hourly upkeep that exactly one worker runs.
final class OperationsTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }

    func freePort() -> Int { 20000 + Int.random(in: 0..<20000) }

    func testMetricsCountDeliveriesByOutcomeWithHelpAndHistograms() throws {
        let a = try h.makeAccount()
        let path = "/ok/metrics-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["m1", "m2", "m3"])
        let port = freePort()
        let w = try WorkerProcess(h, name: "metrics-\(port)", extraArgs: ["--metrics-address", "127.0.0.1:\(port)"])
        defer { w.stop() }
        try waitUntil(15, "delivery") { !h.received(path).isEmpty }
        var text = ""
        try waitUntil(10, "metrics") {
            text = (try? http("GET", "http://127.0.0.1:\(port)/metrics").body) ?? ""
            return Self.value(text, "logdrain_lines_total", outcome: "success") >= 3
        }
        XCTAssertGreaterThanOrEqual(Self.value(text, "logdrain_deliveries_total", outcome: "success"), 1, text)
        for name in ["logdrain_deliveries_total", "logdrain_lines_total", "logdrain_delivery_duration_seconds",
                     "logdrain_batch_lines", "logdrain_batch_bytes", "logdrain_claim_duration_seconds",
                     "logdrain_read_duration_seconds", "logdrain_read_ahead_duration_seconds", "logdrain_sign_duration_seconds",
                     "logdrain_record_duration_seconds", "logdrain_drains_in_flight", "logdrain_watermark_age_seconds",
                     "logdrain_database_errors_total", "logdrain_lease_losses_total"] {
            XCTAssertTrue(text.contains("# HELP \(name) "), "HELP for \(name)")
            XCTAssertTrue(text.contains("# TYPE \(name) "), "TYPE for \(name)")
        }
        XCTAssertTrue(text.contains("logdrain_delivery_duration_seconds_bucket{"), "a histogram")
        XCTAssertTrue(text.contains("# TYPE logdrain_delivery_duration_seconds histogram"))
    }

    /// `/healthz` answers while the process runs; `/readyz` turns non-200 within 5 s of the
    /// database stopping and 200 again after it returns.
    func testReadinessFollowsTheDatabase() throws {
        guard let pgDir = h.env["PG_DIR"], let root = h.env["REPO_ROOT"] else { return XCTFail("PG_DIR and REPO_ROOT come from deploy/test.sh") }
        let port = freePort()
        let w = try WorkerProcess(h, name: "ready-\(port)", extraArgs: ["--metrics-address", "127.0.0.1:\(port)"])
        defer { w.stop() }
        let base = "http://127.0.0.1:\(port)"
        try waitUntil(10, "ready") { (try? http("GET", base + "/readyz").status) == 200 }
        XCTAssertEqual(try http("GET", base + "/healthz").status, 200)

        let stopped = Date()
        XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["stop", pgDir]), 0)
        var restarted = false
        defer { if !restarted { _ = spawnAndWait("\(root)/deploy/pg.sh", ["restart", pgDir]) } }
        try waitUntil(5, "not ready within 5 s of the database stopping") { (try? http("GET", base + "/readyz").status) == 503 }
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 5)
        XCTAssertTrue(try http("GET", base + "/readyz").body.contains("database"))
        XCTAssertEqual(try http("GET", base + "/healthz").status, 200, "alive, only not ready")
        let metrics = try http("GET", base + "/metrics").body
        XCTAssertTrue(metrics.contains("logdrain_database_up{worker=\"ready-\(port)\"} 0"), metrics)

        XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["restart", pgDir]), 0)
        restarted = true
        try waitUntil(20, "ready again") { (try? http("GET", base + "/readyz").status) == 200 }
    }

    func testUpkeepRunsOnceAnHourInOneWorkerWithTheSavedSettings() throws {
        let db = try h.connect()
        // The operator's settings are saved and kept by a run without flags.
        XCTAssertEqual(try runTool(h, "drain-admin", ["maintain", "--days-ahead", "5", "--retention-days", "9"]).status, 0)
        defer { _ = try? runTool(h, "drain-admin", ["maintain", "--days-ahead", "7", "--retention-days", "7"]) }
        let plain = try runTool(h, "drain-admin", ["maintain"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("9 days of logs"), plain.stdout)
        XCTAssertEqual(try db.query("select retention_days from maintenance_settings").rows[0].int("retention_days"), 9)

        // Due: the next worker to ask runs it, and only one of three does.
        try db.query("update maintenance_settings set last_run_at = now() - interval '2 hours', last_run_by = 'nobody'")
        let workers = try (0..<3).map { try WorkerProcess(h, name: unique("upkeep-\($0)")) }
        defer { workers.forEach { $0.stop() } }
        try waitUntil(20, "a worker ran the upkeep") {
            (try db.query("select last_run_by from maintenance_settings").rows[0].string("last_run_by") ?? "nobody") != "nobody"
        }
        let first = try db.query("select last_run_by, last_run_at from maintenance_settings").rows[0]
        Thread.sleep(forTimeInterval: 11)  // every worker has asked by now (first ask within 10 s)
        let after = try db.query("select last_run_by, last_run_at from maintenance_settings").rows[0]
        XCTAssertEqual(after.string("last_run_at"), first.string("last_run_at"), "one run within the hour")
        XCTAssertTrue(after.string("last_run_by")?.hasPrefix("upkeep-") ?? false)
        let ran = workers.filter { $0.log.contains("maintenance ran") }
        XCTAssertEqual(ran.count, 1, workers.map(\.log).joined(separator: "\n---\n"))
    }

    /// A worker login may ask for the hourly run and nothing more: not change the settings, not
    /// force a run (which could drop partitions at once).
    func testAWorkerLoginMayOnlyAskForTheHourlyUpkeep() throws {
        let role = "r_" + UUID().uuidString.prefix(8).lowercased()
        try h.connect().execute(script: "create role \(role) login in role logdrain_worker")
        let url = h.databaseURL.replacingOccurrences(of: "://postgres@", with: "://\(role)@")
        XCTAssertNotEqual(url, h.databaseURL)
        let db = try PostgresConnection(conninfo: url)
        try h.connect().query("update maintenance_settings set last_run_at = now()")
        XCTAssertEqual(try db.query("select * from logdrain_maintain_if_due('w')").rows.count, 0, "not due within the hour")
        for sql in ["select * from logdrain_maintain(1, 1, 'w')", "select * from logdrain_run_upkeep('w')",
                    "update maintenance_settings set retention_days = 1", "select logdrain_drop_partitions('1 day')"] {
            XCTAssertThrowsError(try db.query(sql), sql) {
                XCTAssertEqual(($0 as? PostgresError)?.sqlState, "42501", "\(sql): \($0)")
            }
        }
        XCTAssertEqual(try h.connect().query("select retention_days from maintenance_settings").rows[0].int("retention_days"), 7)
    }

    /// The value of `name{worker=...,outcome="..."}` in a Prometheus text body.
    static func value(_ text: String, _ name: String, outcome: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && line.contains("outcome=\"\(outcome)\"") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }
}

/// Everything through pgbouncer in transaction pooling mode (Debian's 1.18, started by
/// deploy/test.sh): drain-admin's commands, a worker's deliveries and the dashboard's API.
final class PoolerTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }

    func testDrainAdminServeAndAWorkerWorkThroughPgbouncer() throws {
        guard let pooled = h.env["PGBOUNCER_URL"] else { return XCTFail("PGBOUNCER_URL comes from deploy/test.sh") }
        let env = ["DATABASE_URL": pooled, "DRAIN_TRANSACTION_POOLING": "1"]
        func admin(_ args: [String]) throws -> CommandResult {
            let r = try runTool(h, "drain-admin", args, env: env)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            return r
        }
        XCTAssertEqual(try admin(["migrate"]).status, 0)
        let name = unique("pool")
        let account = try admin(["account", "create", name, "--json"]).object
        _ = try admin(["member", "add", name, "ops@\(name).example", "--role", "admin"])
        let path = "/ok/\(name)"
        let created = try admin(["create", name, "--as", "ops@\(name).example", "--name", "pooled", "--url", h.receiverURL + path,
                                 "--secret-file", h.secretFile, "--json", "--allow-private-endpoints", "--ca-file", h.caFile]).object
        let id = try XCTUnwrap(created["id"] as? String)
        _ = try runTool(h, "drain-admin", ["ingest", name], stdin: """
            {"timestamp": "2026-01-02T03:04:05.678Z", "message": "through the pooler", "level": "info"}
            """, env: env)
        XCTAssertEqual(try admin(["list", name, "--json"]).array.count, 1)
        _ = try admin(["maintain"])

        // Several workers through the pooler: each line once, the timestamp as written (the
        // session's time zone survives pgbouncer handing the client other server connections).
        let workers = try (0..<2).map { _ in
            try WorkerProcess(h, name: unique("pooled"), env: ["DATABASE_URL": pooled, "DRAIN_TRANSACTION_POOLING": "1"])
        }
        defer { workers.forEach { $0.stop() } }
        try waitUntil(20, "delivery through the pooler") { h.received(path).count >= 2 }
        let lines = h.received(path).flatMap(\.lines).filter { $0.contains("through the pooler") }
        XCTAssertEqual(lines, [#"{"timestamp": "2026-01-02T03:04:05.678Z", "message": "through the pooler", "level": "info"}"#])
        XCTAssertEqual(try h.show(id)["delivered_lines"] as? Int, 1)
        XCTAssertNotNil(account["id"])

        // The dashboard's server through the pooler too.
        let token = try admin(["token", "create", name, "ops@\(name).example", "--json"]).object["token"] as? String
        let serve = try ServeProcess(h, env: env)
        defer { serve.stop() }
        let listed = try http("GET", serve.baseURL + "/api/v1/drains", token: token)
        XCTAssertEqual(listed.status, 200, listed.body)
        XCTAssertEqual(listed.array.first?["id"] as? String, id)
        for w in workers { XCTAssertFalse(w.log.contains("SQLSTATE 42P05") || w.log.contains("SQLSTATE 26000"), w.log) }
    }
}
