import Foundation
import Postgres
import XCTest

/// DESIGN §2.13-2.15 and the edges of a claim: the byte cap and producer limits, retention
/// gaps, upkeep with a busy default partition, outcomes tied to their configuration, and
/// changes made while a batch is on the wire.
final class DeliveryRulesTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    override func tearDownWithError() throws { try h?.disableAllDrains() }

    private var endpointFlags: [String] { ["--allow-private-endpoints", "--ca-file", h.caFile] }

    // MARK: §2.13

    func testBatchesStayUnderFourMiBAndOnlyASingleLineMayExceedIt() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("cap"))"
        _ = try h.makeDrain(account: a, path: path, rate: 5000)
        let db = try h.connect()
        let pad = String(repeating: "x", count: 300 * 1024)
        var expected = (0..<40).map { String(format: "cap%02d ", $0) + pad }
        try insertLogs(db, account: a.id, messages: expected)
        // One line whose escaped JSON alone is ~6 MiB (control characters become \u0001).
        try db.query("insert into logs (account_id, ts, message, level) values ($1, now(), repeat(chr(1), 1048576), 'info')", [a.id])
        try insertLogs(db, account: a.id, messages: ["after the big one"])
        expected += [String(repeating: "\u{01}", count: 1_048_576), "after the big one"]
        let w = try WorkerProcess(h, name: unique("cap"))
        defer { w.stop() }
        try waitUntil(60, "all 42 lines") { h.received(path).flatMap(\.messages).count >= 42 }
        let posts = h.received(path)
        XCTAssertEqual(posts.flatMap(\.messages), expected, "each line once, in order")
        for post in posts where post.lines.count > 1 {
            XCTAssertLessThanOrEqual(post.body.count, 4_194_304, "a batch of several lines over the cap")
        }
        let big = posts.first { $0.body.count > 4_194_304 }
        XCTAssertEqual(big?.lines.count, 1, "only a single line may exceed the cap")
        XCTAssertTrue(posts.allSatisfy(\.signatureValid))
    }

    /// Rows whose raw values are far under the cap but whose JSON is not (control characters
    /// escape to six bytes): the encoder cuts each batch shorter than the rate, and the next
    /// read (a prefetch included) starts after the cut, not after the last row the server
    /// sent. Every line still goes once, in order, and every batch of several lines stays
    /// under the cap. (That the rows past a cut are cancelled, not read, is
    /// `PostgresWrapperTests.testARowByRowReadStoppedEarlyCancelsTheRest`.)
    func testAStreamedReadStopsAtTheEncodersCut() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("prefetch"))"
        _ = try h.makeDrain(account: a, path: path, rate: 20)
        let db = try h.connect()
        // 60 rows of 60 KB raw (1.2 MB per 20 rows, under the read's cut), ~360 KB of JSON each.
        try db.query("""
            insert into logs (account_id, ts, message, level)
            select $1, now(), lpad(g::text, 3, '0') || repeat(chr(1), 60000), 'info' from generate_series(1, 60) g
            """, [a.id])
        let expected = (1...60).map { String(format: "%03d", $0) + String(repeating: "\u{01}", count: 60000) }
        let w = try WorkerProcess(h, name: unique("prefetch"))
        defer { w.stop() }
        try waitUntil(60, "all 60 lines") { h.received(path).flatMap(\.messages).count >= 60 }
        usleep(300_000)
        let posts = h.received(path)
        XCTAssertEqual(posts.flatMap(\.messages), expected, "each line once, in order")
        XCTAssertTrue(posts.allSatisfy { $0.body.count <= 4_194_304 && $0.headers["x-fal-delivery-attempt"] == "1" })
        XCTAssertTrue(posts.allSatisfy { $0.lines.count < 20 }, "the byte cap, not the rate, ended every batch")
        XCTAssertTrue(posts.allSatisfy(\.signatureValid))
    }

    func testOversizeProducerRowsAreRefusedWith23514() throws {
        let a = try h.makeAccount()
        let db = try h.connect()
        let over = [
            "repeat('m', 1048577), 'info', null",
            "'m', repeat('l', 65), null",
            "'m', 'info', repeat('a', 1025)",
        ]
        for values in over {
            XCTAssertThrowsError(try db.query("insert into logs (account_id, ts, message, level, fal_app_name) values ($1, now(), \(values))", [a.id]), values) {
                XCTAssertEqual(($0 as? PostgresError)?.sqlState, "23514", "\($0)")
            }
        }
        XCTAssertNoThrow(try db.query("""
            insert into logs (account_id, ts, message, level, fal_app_name)
            values ($1, now(), repeat('m', 1048576), repeat('l', 64), repeat('a', 1024))
            """, [a.id]))
        XCTAssertThrowsError(try db.copyIn("copy logs (account_id, ts, message, level) from stdin") { w in
            try w.writeRow([String(a.id), "2026-01-01 00:00:00+00", String(repeating: "m", count: 1_048_577), "info"])
        }) { XCTAssertEqual(($0 as? PostgresError)?.sqlState, "23514", "\($0)") }

        let ok = #"{"timestamp": "2026-01-01T00:00:00Z", "message": "fine", "level": "info"}"#
        let tooBig = #"{"timestamp": "2026-01-01T00:00:00Z", "message": "m", "level": "\#(String(repeating: "l", count: 65))"}"#
        let r = try runTool(h, "drain-admin", ["ingest", a.name], stdin: ok + "\n" + tooBig + "\n")
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("line 2") && r.stderr.contains("level"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
        let count = try db.query("select count(*) as n from logs where account_id = $1 and message = 'fine'", [a.id]).rows[0].int("n")
        XCTAssertEqual(count, 0, "a refused line ingests nothing")
    }

    // MARK: §2.14

    func testPendingBatchWhoseRowsAreGoneDoesNotWedgeTheDrain() throws {
        let a = try h.makeAccount()
        let id = try h.makeDrain(account: a, path: "/status/500/\(unique("gone"))", rate: 5)
        let db = try h.connect()
        try insertLogs(db, account: a.id, messages: (0..<8).map { "gone \($0)" })
        let first = try WorkerProcess(h, name: unique("gone"))
        try waitUntil(10, "a failed first attempt") { (try h.show(id))["consecutive_failures"] as? Int ?? 0 >= 1 }
        first.stop()
        // The pending batch (the first five lines) is removed, as retention would.
        try db.query("delete from logs where account_id = $1 and message = any($2)",
                     [a.id, PostgresArray((0..<5).map { "gone \($0)" })])
        let good = "/ok/\(unique("gone"))"
        let moved = try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--url", h.receiverURL + good, "--skip-test"] + endpointFlags)
        XCTAssertEqual(moved.status, 0, moved.stderr)
        let second = try WorkerProcess(h, name: unique("gone"))
        defer { second.stop() }
        try waitUntil(10, "the next retained lines") { h.received(good).flatMap(\.messages).count >= 3 }
        XCTAssertEqual(h.received(good).flatMap(\.messages), ["gone 5", "gone 6", "gone 7"])
        let gap = (try h.show(id))["gap"] as? [String: Any]
        XCTAssertEqual(gap?["reason"] as? String, "retention")
        XCTAssertEqual(gap?["lines"] as? Int, 5)
        let text = try runTool(h, "drain-admin", ["show", id]).stdout
        XCTAssertTrue(text.contains("retention") && text.contains("5 lines"), text)
    }

    func testMaintainMovesDefaultPartitionRowsAndCountsRetentionGaps() throws {
        let a = try h.makeAccount()
        let id = try h.makeDrain(account: a, path: "/ok/\(unique("maint"))", extra: ["--disabled"])
        let db = try h.connect()
        // A day with no partition yet (upkeep lapsed): the row lands in the default partition.
        try db.query("""
            insert into logs (account_id, ts, message, level, received_at)
            values ($1, now(), 'from the future', 'info', now() + interval '10 days')
            """, [a.id])
        // Rows older than the retention, never delivered.
        try db.query("""
            insert into logs (account_id, ts, message, level, received_at)
            select $1, now(), 'ancient ' || g, 'info', now() - interval '30 days' from generate_series(1, 3) g
            """, [a.id])
        for _ in 0..<2 {
            let r = try runTool(h, "drain-admin", ["maintain", "--days-ahead", "12", "--retention-days", "7"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let row = try db.query("""
            select tableoid::regclass::text as part,
                   'logs_p' || to_char((now() + interval '10 days') at time zone 'UTC', 'YYYYMMDD') as expected
            from logs where account_id = $1 and message = 'from the future'
            """, [a.id]).rows
        XCTAssertEqual(row.count, 1)
        XCTAssertEqual(row.first?.string("part"), row.first?.string("expected"))
        let ancient = try db.query("select count(*) as n from logs where account_id = $1 and message like 'ancient%'", [a.id]).rows[0].int("n")
        XCTAssertEqual(ancient, 0)
        let gap = (try h.show(id))["gap"] as? [String: Any]
        XCTAssertEqual(gap?["lines"] as? Int, 3)
    }

    // MARK: §2.15

    /// A drain with four failures behind it whose 5th attempt (to an endpoint that answers 500
    /// after 2 s) is on the wire when this returns, with the worker that sent it.
    private func fifthFailureInFlight(_ label: String) throws -> (account: (name: String, id: Int64, admin: String),
                                                                     id: String, path: String, worker: WorkerProcess) {
        let a = try h.makeAccount()
        let bad = "/slow-status/2/500/\(unique(label))"
        let id = try h.makeDrain(account: a, path: bad)
        let db = try h.connect()
        try db.query("update drains set consecutive_failures = 4 where id = $1::uuid", [id])
        try insertLogs(db, account: a.id, messages: ["\(label) line"])
        let w = try WorkerProcess(h, name: unique(label))
        // Begun means on its way with the configuration of that moment.
        try waitUntil(10, "the 5th attempt on the wire") {
            try db.query("select batch_attempts from drains where id = $1::uuid", [id]).rows[0].int("batch_attempts") == 1
        }
        return (a, id, bad, w)
    }

    private func assertNoAutoDisable(_ account: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let audit = try runTool(h, "drain-admin", ["audit", account, "--json"]).array
        XCTAssertFalse(audit.contains { $0["action"] as? String == "drain.auto-disable" }, "\(audit)", file: file, line: line)
    }

    func testFixingTheURLDuringTheFifthFailureKeepsTheDrainEnabled() throws {
        let (a, id, bad, w) = try fifthFailureInFlight("fix")
        defer { w.stop() }
        let good = "/ok/\(unique("fix"))"
        let r = try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--url", h.receiverURL + good, "--skip-test"] + endpointFlags)
        XCTAssertEqual(r.status, 0, r.stderr)
        try waitUntil(15, "delivered to the fixed URL") { h.received(good).flatMap(\.messages) == ["fix line"] }
        try waitUntil(5, "recorded") { (try h.show(id))["consecutive_failures"] as? Int == 0 }
        XCTAssertEqual((try h.show(id))["enabled"] as? Bool, true)
        XCTAssertEqual(h.received(bad).count, 1)
        try assertNoAutoDisable(a.name)
    }

    func testManualDisableDuringTheFifthFailureStaysManual() throws {
        let (a, id, _, w) = try fifthFailureInFlight("manual")
        defer { w.stop() }
        let r = try runTool(h, "drain-admin", ["disable", id, "--as", a.admin])
        XCTAssertEqual(r.status, 0, r.stderr)
        let db = try h.connect()
        try waitUntil(10, "the failure recorded") {
            try db.query("select lease_owner is null as free from drains where id = $1::uuid", [id]).rows[0].bool("free") == true
        }
        let shown = try h.show(id)
        XCTAssertEqual(shown["enabled"] as? Bool, false)
        XCTAssertEqual(shown["disabled_reason"] as? String, "manual")
        XCTAssertEqual(shown["consecutive_failures"] as? Int, 4, "a failure while disabled by hand does not count")
        try assertNoAutoDisable(a.name)
    }

    // MARK: changes while a batch is on the wire

    func testDisablingMidChainSendsNothingNew() throws {
        let a = try h.makeAccount()
        let path = "/sleep/0.4/\(unique("chain"))"
        let id = try h.makeDrain(account: a, path: path, rate: 10)
        try insertLogs(try h.connect(), account: a.id, messages: (0..<200).map { "chain \($0)" })
        let w = try WorkerProcess(h, name: unique("chain"))
        defer { w.stop() }
        try waitUntil(10, "the chain runs") { h.received(path).count >= 2 }
        let r = try runTool(h, "drain-admin", ["disable", id, "--as", a.admin])
        XCTAssertEqual(r.status, 0, r.stderr)
        let atDisable = h.received(path).count
        usleep(2_000_000)
        XCTAssertLessThanOrEqual(h.received(path).count, atDisable + 1, "only the batch already on the wire may finish")
    }

    func testLoweredSamplingRateAppliesToTheBatchReadAhead() throws {
        let a = try h.makeAccount()
        let path = "/sleep/0.3/\(unique("rate"))"
        let id = try h.makeDrain(account: a, path: path, rate: 40)
        let lines = (0..<160).map { "rate \($0)" }
        try insertLogs(try h.connect(), account: a.id, messages: lines)
        let w = try WorkerProcess(h, name: unique("rate"))
        defer { w.stop() }
        try waitUntil(10, "the first batch") { !h.received(path).isEmpty }
        let r = try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--sampling-rate", "5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let atUpdate = h.received(path).count
        try waitUntil(40, "every line") { Set(h.received(path).flatMap(\.messages)).count >= 160 }
        let after = h.received(path).dropFirst(atUpdate)
        XCTAssertLessThanOrEqual(after.filter { $0.lines.count > 5 }.count, 1,
                                 "only the batch on the wire at the update may exceed the new rate")
        var seen = Set<String>()
        XCTAssertEqual(h.received(path).flatMap(\.messages).filter { seen.insert($0).inserted }, lines)
    }

    // MARK: grouped outcomes

    /// Several drains' 2xx answers are recorded by one statement, each under its own lease:
    /// a drain whose token moved on (claimed again elsewhere) is left exactly as it was, the
    /// others advance their cursor and keep the attempt in their history.
    func testGroupedSuccessesApplyOnlyUnderEachDrainsOwnLease() throws {
        let db = try h.connect()
        var drains: [(id: String, token: Int64)] = []
        for name in ["g1", "g2"] {
            let account = try h.makeAccount(name)
            let id = try h.makeDrain(account: account, path: "/ok/grouped-\(name)", extra: ["--disabled"])
            // A pending batch of 3 lines ending at (5, 42), attempt 1, leased with token 7.
            try db.query("""
                update drains set lease_owner = 'w', lease_token = 7, batch_end_xact = '5', batch_end_id = 42,
                                  batch_lines = 3, batch_delivery_id = gen_random_uuid(), batch_attempts = 1
                where id = $1::uuid
                """, [id])
            drains.append((id, 7))
        }
        let deliveryIDs = try drains.map {
            try db.query("select batch_delivery_id::text as d from drains where id = $1::uuid", [$0.id]).rows[0].requiredString("d")
        }
        // The second drain's token is stale: someone claimed it since.
        let kept = try db.query("""
            select drain_id::text as id from logdrain_worker_record_successes(
                p_drain_ids => $1::uuid[], p_lease_tokens => $2::bigint[], p_delivery_ids => $3::uuid[],
                p_due_in_seconds => '{0,0}', p_attempts => '{1,1}', p_lines => '{3,3}', p_bytes => '{300,300}',
                p_statuses => '{200,200}', p_duration_ms => '{5,5}', p_worker => 'w')
            """, [PostgresArray(drains.map(\.id)), PostgresArray(["7", "6"]), PostgresArray(deliveryIDs)]).rows.map { try $0.requiredString("id") }
        XCTAssertEqual(kept, [drains[0].id])
        let first = try db.query("""
            select cursor_xact::text as x, cursor_id, delivered_lines, batch_delivery_id, lease_owner,
                   (select count(*) from delivery_attempts a where a.drain_id = d.id) as history
            from drains d where id = $1::uuid
            """, [drains[0].id]).rows[0]
        XCTAssertEqual(first.string("x"), "5")
        XCTAssertEqual(first.int("cursor_id"), 42)
        XCTAssertEqual(first.int("delivered_lines"), 3)
        XCTAssertTrue(first.isNull("batch_delivery_id"))
        XCTAssertTrue(first.isNull("lease_owner"))
        XCTAssertEqual(first.int("history"), 1)
        let second = try db.query("""
            select cursor_id, delivered_lines, batch_delivery_id::text as d, lease_owner,
                   (select count(*) from delivery_attempts a where a.drain_id = s.id) as history
            from drains s where id = $1::uuid
            """, [drains[1].id]).rows[0]
        XCTAssertEqual(second.int("cursor_id"), 0)
        XCTAssertEqual(second.int("delivered_lines"), 0)
        XCTAssertEqual(second.string("d"), deliveryIDs[1])
        XCTAssertEqual(second.string("lease_owner"), "w")
        XCTAssertEqual(second.int("history"), 0)
    }
}
