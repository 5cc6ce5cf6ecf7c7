import Foundation
import XCTest
import Postgres
import HTTPClient
import DrainCore

/// drain-worker against the real database and the real HTTPS receiver.
final class DeliveryTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    /// A drain left enabled (a 12 s endpoint, say) would be claimed by the next test's worker.
    override func tearDownWithError() throws { try h?.disableAllDrains() }


    func testWireFormatByteForByteAndSignature() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("wire"))"
        let id = try h.makeDrain(account: a, path: path)
        let input = """
            {"timestamp": "2026-02-17T10:30:00.123456Z", "message": "Model loaded \\"ok\\"\\\\ done\\nnext\\ttab\\u0001\\u001f é 日本 🎉 \\u2028", "level": "info", "fal_app_name": "my-model", "fal_app_id": "abc123", "fal_request_id": "req-456", "fal_job_id": "job-789", "fal_endpoint": "/", "fal_node_id": "node-1", "fal_worker_id": "worker-42", "fal_source": "run", "fal_isolate_source": "iso"}
            {"timestamp": "2026-02-17T12:30:01.9+02:00", "message": "", "level": "warning", "fal_endpoint": ""}
            """
        XCTAssertEqual(try runTool(h, "drain-admin", ["ingest", a.name], stdin: input).status, 0)
        let w = try WorkerProcess(h, name: unique("wire"))
        defer { w.stop() }
        try waitUntil(15, "delivery") { !h.received(path).isEmpty }
        let r = try XCTUnwrap(h.received(path).first)
        let expected = #"{"timestamp": "2026-02-17T10:30:00.123Z", "message": "Model loaded \"ok\"\\ done\nnext\ttab\u0001\u001f é 日本 🎉 "# + "\u{2028}" + #"", "level": "info", "fal_app_name": "my-model", "fal_app_id": "abc123", "fal_request_id": "req-456", "fal_job_id": "job-789", "fal_endpoint": "/", "fal_node_id": "node-1", "fal_worker_id": "worker-42", "fal_source": "run", "fal_isolate_source": "iso"}"# + "\n"
            + #"{"timestamp": "2026-02-17T10:30:01.900Z", "message": "", "level": "warning", "fal_endpoint": ""}"# + "\n"
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), expected)
        XCTAssertTrue(r.signatureValid, "the seed's verify_signature accepts it")
        XCTAssertEqual(r.headers["x-fal-signature"], hmacHex(h.secret, r.body))
        XCTAssertNotEqual(r.headers["x-fal-signature"], hmacHex(h.secret, r.body + Data("x".utf8)), "tampering changes the signature")
        XCTAssertEqual(r.headers["content-type"], "application/x-ndjson")
        XCTAssertEqual(r.headers["user-agent"], "LogDrain/0.1.0")
        XCTAssertEqual(r.headers["x-fal-delivery-attempt"], "1")
        XCTAssertNotNil(UUID(uuidString: r.headers["x-fal-delivery-id"] ?? ""))
        XCTAssertEqual(w.stop(), 0, "SIGTERM exits 0")
        let status = try h.show(id)
        XCTAssertNotNil(status["last_success_at"] as? String)
        XCTAssertEqual(status["consecutive_failures"] as? Int, 0)
    }

    /// At sampling rate 1 the first batch comes from the claim's read (text results) and every
    /// later one from the streamed read-ahead (binary results): the same row must give the same
    /// bytes either way, and every timestamp the text rule's wire form, including those the
    /// binary read leaves to PostgreSQL's text (BC, year 10000, infinity).
    func testStreamedBinaryReadsDeliverTheSameBytesAsTextReads() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("binary"))"
        _ = try h.makeDrain(account: a, path: path, rate: 1)
        let line = #"{"timestamp": "2026-02-17T10:30:00.123456Z", "message": "Model loaded \"ok\"\\ done\nnext\ttab\u0001\u001f é 日本 🎉 \u2028", "level": "info", "fal_app_name": "my-model", "fal_app_id": "abc123", "fal_request_id": "req-456", "fal_job_id": "job-789", "fal_endpoint": "/", "fal_node_id": "node-1", "fal_worker_id": "worker-42", "fal_source": "run", "fal_isolate_source": "iso"}"#
        XCTAssertEqual(try runTool(h, "drain-admin", ["ingest", a.name], stdin: [line, line, line].joined(separator: "\n")).status, 0)
        let odd = ["0044-03-15 12:00:00+00 BC", "infinity", "-infinity", "10000-01-01 00:00:00+00", "0001-01-01 00:00:00+00",
                   "9999-12-31 23:59:59.999999+00", "1999-12-31 23:59:59.9999+00", "1600-02-29 06:07:08.00009+00",
                   "2024-02-29 23:59:59.999+00", "1970-01-01 00:00:00+00", "2000-01-01 00:00:00.001+00"]
        let db = try h.connect()
        try db.execute(script: "set timezone = 'UTC'; set datestyle = 'ISO, YMD'")
        for ts in odd {
            try db.query("insert into logs (account_id, ts, message, level) values ($1, $2::timestamptz, 'odd', 'info')", [a.id, ts])
        }
        // What the text read's rule makes of each: PostgreSQL's text, converted, or as printed.
        let printed = try db.query("select ts::text as ts from logs where account_id = $1 and message = 'odd' order by xact_id, id",
                                   [a.id]).rows.map { $0.string("ts")! }
        let expected = printed.map { text -> String in
            var out: [UInt8] = []
            let ok = Array(text.utf8).withUnsafeBufferPointer { WireTimestamp.fromPostgres($0, into: &out) }
            return ok ? String(decoding: out, as: UTF8.self) : text
        }
        let w = try WorkerProcess(h, name: unique("binary"))
        defer { w.stop() }
        try waitUntil(30, "all lines") { h.received(path).flatMap(\.lines).count >= 3 + odd.count }
        let posts = h.received(path)
        XCTAssertEqual(posts.count, 3 + odd.count, "one line a batch")
        XCTAssertEqual(posts[1].body, posts[0].body, "the streamed read's bytes equal the first read's")
        XCTAssertEqual(posts[2].body, posts[0].body)
        let timestamps = posts.dropFirst(3).map { post -> String in
            let object = try? JSONSerialization.jsonObject(with: post.body.prefix { $0 != 0x0A }) as? [String: Any]
            return object?["timestamp"] as? String ?? "?"
        }
        XCTAssertEqual(timestamps, expected)
        XCTAssertTrue(expected.contains("0044-03-15 12:00:00+00 BC") && expected.contains("infinity"), "\(expected)")
        XCTAssertTrue(posts.allSatisfy(\.signatureValid))
    }

    func testSamplingRateCapsBatchesAndKeepsOrder() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("cap"))"
        _ = try h.makeDrain(account: a, path: path, rate: 10)
        let db = try h.connect()
        try insertLogs(db, account: a.id, messages: (1...35).map { "line \($0)" })
        let w = try WorkerProcess(h, name: unique("cap"))
        defer { w.stop() }
        try waitUntil(15, "35 lines") { h.received(path).flatMap(\.messages).count >= 35 }
        usleep(500_000)
        let posts = h.received(path)
        XCTAssertEqual(posts.map { $0.lines.count }, [10, 10, 10, 5])
        XCTAssertEqual(posts.flatMap(\.messages), (1...35).map { "line \($0)" })
        XCTAssertEqual(Set(posts.compactMap { $0.headers["x-fal-delivery-id"] }).count, 4, "each batch has its own id")
    }

    /// A backlog is delivered as a chain of batches read ahead of the wire: each line exactly
    /// once, in commit order, every batch a first attempt with its own delivery id, and a URL
    /// changed mid-chain is picked up by the following batches.
    func testBacklogChainDeliversEachLineOnceInOrder() throws {
        let a = try h.makeAccount()
        let first = "/sleep/0.05/\(unique("chain"))"
        let id = try h.makeDrain(account: a, path: first, rate: 10)
        let db = try h.connect()
        let messages = (0..<300).map { "chain \($0)" }
        try insertLogs(db, account: a.id, messages: messages)
        let w = try WorkerProcess(h, name: unique("chain"))
        defer { w.stop() }
        try waitUntil(15, "chain started") { h.received(first).count >= 3 }
        let second = "/ok/\(unique("chain2"))"
        XCTAssertEqual(try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--url", h.receiverURL + second,
                                                      "--skip-test", "--allow-private-endpoints"]).status, 0)
        try waitUntil(30, "all 300 lines") { (h.received(first) + h.received(second)).flatMap(\.messages).count >= 300 }
        usleep(300_000)
        let posts = (h.received(first) + h.received(second)).sorted { $0.time < $1.time }
        XCTAssertEqual(posts.flatMap(\.messages), messages)
        XCTAssertEqual(Set(posts.compactMap { $0.headers["x-fal-delivery-id"] }).count, 30)
        XCTAssertTrue(posts.allSatisfy { $0.headers["x-fal-delivery-attempt"] == "1" && $0.signatureValid })
        XCTAssertFalse(h.received(second).isEmpty, "batches after the update went to the new URL")
    }

    func testNewDrainStartsFromLast30Seconds() throws {
        let a = try h.makeAccount()
        let db = try h.connect()
        try insertLogs(db, account: a.id, messages: ["old"], ts: "2020-01-01T00:00:00Z")
        try db.query("insert into logs (account_id, ts, message, level) values ($1::bigint, now() - interval '10 seconds', 'recent', 'info')", [a.id])
        try db.query("insert into logs (account_id, ts, message, level) values ($1::bigint, now() - interval '45 seconds', 'too old', 'info')", [a.id])
        let path = "/ok/\(unique("window"))"
        _ = try h.makeDrain(account: a, path: path)
        try insertLogs(db, account: a.id, messages: ["after creation, old timestamp"], ts: "2020-01-01T00:00:00Z")
        let w = try WorkerProcess(h, name: unique("window"))
        defer { w.stop() }
        try waitUntil(15, "two lines") { h.received(path).flatMap(\.messages).count >= 2 }
        usleep(600_000)
        XCTAssertEqual(h.received(path).flatMap(\.messages), ["recent", "after creation, old timestamp"])
    }

    /// `logdrain_worker_end_needless_filters` ends a new-drain filter only when it has nothing
    /// left to drop: no row committed at creation past the cursor, no transaction of that time
    /// still open, no pending batch, the lease still held. Each case in a rolled-back transaction.
    func testNeedlessNewDrainFiltersEndInOneStatementAndOnlyThose() throws {
        let db = try h.connect()
        /// The drains the function ended when asked about `drains` (each under its current
        /// lease token, or the one given), checked against the filters actually gone.
        func ended(_ drains: [(id: String, token: Int64?)], first setUp: String? = nil) throws -> Set<String> {
            try db.execute(script: "begin")
            defer { try? db.execute(script: "rollback") }
            if let setUp { try db.query(setUp, [drains[0].id]) }
            var tokens: [Int64] = []
            for drain in drains {
                let current = try db.query("select lease_token from drains where id = $1::uuid", [drain.id]).rows.first?.int64("lease_token")
                tokens.append(try XCTUnwrap(drain.token ?? current, "drain \(drain.id)"))
            }
            let reported = Set(try db.query("select drain_id::text as id from logdrain_worker_end_needless_filters($1::uuid[], $2::bigint[])",
                                            [PostgresArray(drains.map(\.id)), PostgresArray(tokens)]).rows.compactMap { $0.string("id") })
            let gone = Set(try db.query("select id::text as id from drains where id = any($1::uuid[]) and start_snapshot is null",
                                        [PostgresArray(drains.map(\.id))]).rows.compactMap { $0.string("id") })
            XCTAssertEqual(reported, gone, "the function reports exactly the filters it ended")
            return reported
        }
        func ends(_ drain: String, token: Int64? = nil, first setUp: String? = nil) throws -> Bool {
            try ended([(drain, token)], first: setUp) == [drain]
        }
        // A new account: rows committed after creation are never filtered, whatever their ts.
        let fresh = try h.makeAccount()
        let freshDrain = try h.makeDrain(account: fresh, path: "/ok/\(unique("fresh"))")
        try insertLogs(db, account: fresh.id, messages: ["after creation"], ts: "2020-01-01T00:00:00Z")
        XCTAssertTrue(try ends(freshDrain))
        XCTAssertFalse(try ends(freshDrain, token: -1), "not under a lease that is not the drain's")
        XCTAssertFalse(try ends(freshDrain, first: "update drains set batch_end_xact = '1', batch_end_id = 1 where id = $1::uuid"),
                       "a pending batch keeps the filter its first read applied")

        // A row from before creation may be dropped: the filter stays until the cursor passes it.
        let old = try h.makeAccount()
        try insertLogs(db, account: old.id, messages: ["before creation"], ts: "2020-01-01T00:00:00Z")
        let oldDrain = try h.makeDrain(account: old, path: "/ok/\(unique("old"))")
        XCTAssertFalse(try ends(oldDrain))
        XCTAssertTrue(try ends(oldDrain, first: """
            update drains d set cursor_xact = l.xact_id, cursor_id = l.id
            from logs l where d.id = $1::uuid and l.account_id = d.account_id
            """), "with the cursor past it, nothing is left to drop")

        // A transaction running at creation below the snapshot's xmax (a later one committed
        // first) may still commit a row: the filter waits for it to end; then its row lies
        // past the cursor and the skip steps decide.
        let open = try h.makeAccount()
        let writer = try h.connect()
        try writer.execute(script: "begin")
        defer { try? writer.execute(script: "rollback") }  // a no-op once committed
        try insertLogs(writer, account: open.id, messages: ["open at creation"], ts: "2020-01-01T00:00:00Z")
        try insertLogs(db, account: fresh.id, messages: ["a later transaction, committed first"])
        let openDrain = try h.makeDrain(account: open, path: "/ok/\(unique("open"))")
        let writerXact = try writer.query("select pg_current_xact_id()::text as x").rows[0].string("x") ?? ""
        XCTAssertEqual(try db.query("select $2::xid8 < pg_snapshot_xmax(start_snapshot) as below from drains where id = $1::uuid",
                                    [openDrain, writerXact]).rows[0].bool("below"), true, "the case this checks")
        XCTAssertFalse(try ends(openDrain), "a transaction below the creation snapshot's xmax is still running")
        try writer.execute(script: "commit")
        XCTAssertFalse(try ends(openDrain), "its row lies past the cursor: the skip steps decide")

        // All in one call, as the worker makes it: each drain judged on its own.
        let other = try h.makeAccount()
        let otherDrain = try h.makeDrain(account: other, path: "/ok/\(unique("other"))")
        XCTAssertEqual(try ended([(oldDrain, nil), (freshDrain, nil), (openDrain, nil), (otherDrain, -1)]), [freshDrain],
                       "only the fresh drain under its own token")
    }

    /// A worker ends a new account's drain filter with the one statement after its claim,
    /// never with a skip step (the skip step logs each drain it runs for at debug level).
    func testAWorkerEndsANewAccountsFilterWithoutASkipStep() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("needless"))"
        let id = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["after creation"], ts: "2020-01-01T00:00:00Z")
        let w = try WorkerProcess(h, name: unique("needless"), env: ["LOG_LEVEL": "debug"])
        defer { w.stop() }
        try waitUntil(15, "the line") { !h.received(path).isEmpty }
        XCTAssertEqual(h.received(path).flatMap(\.messages), ["after creation"], "rows after creation go whatever their ts")
        let log = w.log.split(separator: "\n")
        XCTAssertTrue(log.contains { $0.contains("ended needless new-drain filters") }, w.log)
        XCTAssertFalse(log.contains { $0.contains("passed filtered rows") && $0.contains(id) }, "no skip step for \(id)")
    }

    func testFiveFailuresDisableTheDrainAndNoSixthRequest() throws {
        let a = try h.makeAccount()
        let path = "/status/500/\(unique("fail"))"
        let id = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["doomed"])
        let w = try WorkerProcess(h, name: unique("fail"))
        defer { w.stop() }
        try waitUntil(20, "disabled") { (try h.show(id))["enabled"] as? Bool == false }
        usleep(1_500_000)
        let posts = h.received(path)
        XCTAssertEqual(posts.count, 5, "no 6th request")
        XCTAssertEqual(posts.map { $0.headers["x-fal-delivery-attempt"] ?? "" }, ["1", "2", "3", "4", "5"])
        XCTAssertEqual(Set(posts.map(\.body)).count, 1, "retries are byte-identical")
        XCTAssertEqual(Set(posts.compactMap { $0.headers["x-fal-delivery-id"] }).count, 1)
        XCTAssertEqual(Set(posts.compactMap { $0.headers["x-fal-signature"] }).count, 1)
        let s = try h.show(id)
        XCTAssertEqual(s["disabled_reason"] as? String, "failures")
        XCTAssertEqual(s["consecutive_failures"] as? Int, 5)
        XCTAssertTrue((s["last_error"] as? String ?? "").contains("HTTP 500"), "\(s)")
        XCTAssertNotNil(s["last_failure_at"] as? String)
        let audit = try runTool(h, "drain-admin", ["audit", a.name, "--json"]).array
        XCTAssertTrue(audit.contains { ($0["action"] as? String) == "drain.auto-disable" })
    }

    func testSuccessResetsCounterAndReEnableDeliversBacklog() throws {
        let a = try h.makeAccount()
        let flaky = "/flaky/2/\(unique("flaky"))"
        let id = try h.makeDrain(account: a, path: flaky)
        let db = try h.connect()
        try insertLogs(db, account: a.id, messages: ["first"])
        let w = try WorkerProcess(h, name: unique("flaky"))
        defer { w.stop() }
        try waitUntil(15, "success after two failures") { (try h.show(id))["last_success_at"] as? String != nil }
        let s = try h.show(id)
        XCTAssertEqual(s["consecutive_failures"] as? Int, 0)
        XCTAssertEqual(h.received(flaky).map(\.status), [500, 500, 200])

        // Break it, let it disable, then fix the URL and re-enable: lines that arrived meanwhile arrive.
        let broken = "/status/503/\(unique("broken"))"
        XCTAssertEqual(try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--url", h.receiverURL + broken, "--skip-test", "--allow-private-endpoints"]).status, 0)
        try insertLogs(db, account: a.id, messages: ["while failing 1"])
        try waitUntil(20, "auto-disabled") { (try h.show(id))["disabled_reason"] as? String == "failures" }
        try insertLogs(db, account: a.id, messages: ["while disabled 2"])
        let fixed = "/ok/\(unique("fixed"))"
        XCTAssertEqual(try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--url", h.receiverURL + fixed, "--skip-test", "--allow-private-endpoints"]).status, 0)
        XCTAssertEqual(try runTool(h, "drain-admin", ["enable", id, "--as", a.admin]).status, 0)
        XCTAssertEqual((try h.show(id))["consecutive_failures"] as? Int, 0)
        try waitUntil(15, "backlog delivered") { h.received(fixed).flatMap(\.messages).count >= 2 }
        let got = h.received(fixed)
        XCTAssertEqual(got.flatMap(\.messages), ["while failing 1", "while disabled 2"])
        // The pending batch keeps its delivery id across the URL change, and the attempt count goes on.
        XCTAssertEqual(got.first?.headers["x-fal-delivery-id"], h.received(broken).first?.headers["x-fal-delivery-id"])
        XCTAssertEqual(got.first?.headers["x-fal-delivery-attempt"], "6")
    }

    func testSkipBacklogStartsFromLast30Seconds() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("skip"))"
        let id = try h.makeDrain(account: a, path: path, extra: ["--disabled"])
        let db = try h.connect()
        try insertLogs(db, account: a.id, messages: ["backlog old"], ts: "2020-01-01T00:00:00Z")
        try insertLogs(db, account: a.id, messages: ["backlog recent"])
        XCTAssertEqual(try runTool(h, "drain-admin", ["enable", id, "--as", a.admin, "--skip-backlog"]).status, 0)
        try insertLogs(db, account: a.id, messages: ["after enable"], ts: "2020-01-01T00:00:00Z")
        let w = try WorkerProcess(h, name: unique("skip"))
        defer { w.stop() }
        try waitUntil(15, "two lines") { h.received(path).flatMap(\.messages).count >= 2 }
        usleep(500_000)
        XCTAssertEqual(h.received(path).flatMap(\.messages), ["backlog recent", "after enable"])
    }

    func testRedirectIsAFailureAndNotFollowed() throws {
        let a = try h.makeAccount()
        let path = "/status/301/\(unique("redir"))"
        let id = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["x"])
        let w = try WorkerProcess(h, name: unique("redir"))
        defer { w.stop() }
        try waitUntil(15, "a failure") { ((try h.show(id))["consecutive_failures"] as? Int ?? 0) >= 1 }
        XCTAssertTrue(((try h.show(id))["last_error"] as? String ?? "").contains("HTTP 301"))
        XCTAssertTrue(h.received("/ok/redirected").isEmpty, "the Location was not followed")
    }

    func testRetryAfterIsHonoured() throws {
        let a = try h.makeAccount()
        let path = "/retry-after/2/1/\(unique("ra"))"
        _ = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["x"])
        let w = try WorkerProcess(h, name: unique("ra"), extraArgs: ["--backoff-max", "5"])
        defer { w.stop() }
        try waitUntil(15, "retried") { h.received(path).count >= 2 }
        let posts = h.received(path)
        XCTAssertEqual(posts.map(\.status), [503, 200])
        XCTAssertGreaterThanOrEqual(posts[1].time - posts[0].time, 1.9, "waited for Retry-After: 2")
    }

    func testSlowEndpointTimesOutWithoutDelayingOtherDrains() throws {
        let slowAccount = try h.makeAccount()
        let fastAccount = try h.makeAccount()
        let slowPath = "/sleep/12/\(unique("slow"))"
        let fastPath = "/ok/\(unique("fast"))"
        let slowID = try h.makeDrain(account: slowAccount, path: slowPath)
        _ = try h.makeDrain(account: fastAccount, path: fastPath, rate: 5)
        let db = try h.connect()
        try insertLogs(db, account: slowAccount.id, messages: ["slow"])
        let w = try WorkerProcess(h, name: unique("slow"))
        defer { w.stop() }
        try waitUntil(5, "slow request started") { !h.received(slowPath).isEmpty }
        let start = Date()
        for i in 0..<5 {
            try insertLogs(db, account: fastAccount.id, messages: ["fast \(i)"])
            usleep(300_000)
        }
        try waitUntil(5, "fast lines while the slow one hangs") { h.received(fastPath).flatMap(\.messages).count >= 5 }
        XCTAssertLessThan(Date().timeIntervalSince(start), 9, "the fast drain flowed while the slow one was in flight")
        try waitUntil(15, "timeout recorded") { ((try h.show(slowID))["consecutive_failures"] as? Int ?? 0) >= 1 }
        let error = (try h.show(slowID))["last_error"] as? String ?? ""
        XCTAssertTrue(error.contains("timeout"), error)
    }

    func testPrivateEndpointIsRefusedByTheWorkerWithoutFlag() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("private"))"
        let id = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["x"])
        let w = try WorkerProcess(h, name: unique("strict"), allowPrivate: false)
        defer { w.stop() }
        try waitUntil(15, "refusal recorded") { ((try h.show(id))["consecutive_failures"] as? Int ?? 0) >= 1 }
        XCTAssertTrue(((try h.show(id))["last_error"] as? String ?? "").contains("loopback"))
        XCTAssertTrue(h.received(path).isEmpty, "nothing was sent")
    }
}

/// The HTTP client and the worker's operational surface, against the real receiver.
final class HTTPAndMetricsTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    override func tearDownWithError() throws { try h?.disableAllDrains() }

    func testAtMost64KiBOfAResponseIsReadAndA2xxStillCounts() throws {
        let client = HTTPMultiClient(configuration: HTTPClientConfiguration(caFile: h.caFile, allowPrivateAddresses: true, userAgent: "test"))
        let big = client.send(HTTPRequest(url: h.receiverURL + "/big/5000000/x", displayURL: "big", headers: [], body: Array("{}\n".utf8), timeout: 10))
        let response = try big.get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body.count, 64 * 1024)
        // The connection it abandoned does not break the next request.
        XCTAssertEqual(try client.send(HTTPRequest(url: h.receiverURL + "/ok/after-big", displayURL: "ok", headers: [], body: [], timeout: 10)).get().status, 200)
    }

    func testErrorsSayWhatFailedWithTheURLRedacted() throws {
        let client = HTTPMultiClient(configuration: HTTPClientConfiguration(caFile: h.caFile, allowPrivateAddresses: true, userAgent: "test"))
        let refused = client.send(HTTPRequest(url: "https://127.0.0.1:1/x?key=SECRET", displayURL: "https://127.0.0.1:1/x?key=***", headers: [], body: [], timeout: 10))
        guard case .failure(let e) = refused else { return XCTFail("expected a connect error") }
        XCTAssertEqual(e.kind, .connect)
        XCTAssertFalse(e.description.contains("SECRET"))
        XCTAssertTrue(e.description.contains("key=***"))
        let untrusted = HTTPMultiClient(configuration: HTTPClientConfiguration(allowPrivateAddresses: true, userAgent: "test"))
        guard case .failure(let tls) = untrusted.send(HTTPRequest(url: h.receiverURL + "/ok/tls", displayURL: "u", headers: [], body: [], timeout: 10)) else {
            return XCTFail("expected a TLS error without the private CA")
        }
        XCTAssertEqual(tls.kind, .tls)
        let strict = HTTPMultiClient(configuration: HTTPClientConfiguration(caFile: h.caFile, userAgent: "test"))
        guard case .failure(let forbidden) = strict.send(HTTPRequest(url: h.receiverURL + "/ok/forbidden", displayURL: "f", headers: [], body: [], timeout: 10)) else {
            return XCTFail("expected a refusal of a loopback address")
        }
        XCTAssertEqual(forbidden.kind, .forbiddenAddress)
        XCTAssertTrue(h.received("/ok/forbidden").isEmpty, "nothing was sent")
    }
}
