import Foundation
import Postgres
import XCTest

/// DESIGN §2.11-2.12: a database stall never fails a healthy drain, an idle drain costs little
/// however much history its account holds, and SIGTERM finishes deliveries whatever the
/// database does.
final class ResilienceTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    override func tearDownWithError() throws { try h?.disableAllDrains() }

    private func drainRow(_ db: PostgresConnection, _ id: String) throws -> PostgresRow {
        try db.query("select consecutive_failures, batch_attempts, last_error, enabled from drains where id = $1::uuid", [id]).rows[0]
    }

    func testTwelveSecondLockDuringThreeSecondAnswersCountsNoFailureAndResendsNothing() throws {
        let accounts = try (0..<2).map { _ in try h.makeAccount() }
        let paths = accounts.map { _ in "/sleep/3/\(unique("stall"))" }
        let ids = try zip(accounts, paths).map { try h.makeDrain(account: $0, path: $1) }
        let db = try h.connect()
        var expected: [[String]] = []
        for (i, a) in accounts.enumerated() {
            let lines = (0..<5).map { "stall \(i) line \($0)" }
            try insertLogs(db, account: a.id, messages: lines)
            expected.append(lines)
        }
        let w = try WorkerProcess(h, name: unique("stall"))
        defer { w.stop() }
        try waitUntil(10, "both requests on the wire") { paths.allSatisfy { !h.received($0).isEmpty } }

        // The operator's stall, from another session: every statement on drains waits 12 s.
        let url = h.databaseURL
        let lockDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            if let c = try? PostgresConnection(conninfo: url) {
                try? c.execute(script: "begin; lock table drains in access exclusive mode; select pg_sleep(12); commit")
            }
            lockDone.signal()
        }
        try waitUntil(5, "the lock is held") {
            try db.query("""
                select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation
                where c.relname = 'drains' and l.mode = 'AccessExclusiveLock' and l.granted
                """).rows[0].int("n") == 1
        }
        XCTAssertEqual(lockDone.wait(timeout: .now() + 20), .success)

        try waitUntil(15, "both outcomes recorded") {
            try ids.allSatisfy { try drainRow(db, $0).int("batch_attempts") == 0 }
        }
        for (i, id) in ids.enumerated() {
            let row = try drainRow(db, id)
            XCTAssertEqual(row.int("consecutive_failures"), 0, "a stall counted a failure: \(row.string("last_error") ?? "")")
            XCTAssertNil(row.string("last_error"))
            let posts = h.received(paths[i])
            XCTAssertEqual(posts.count, 1, "a stall caused a resend")
            XCTAssertEqual(posts.flatMap(\.messages), expected[i])
        }
        let failures = try db.query("select count(*) as n from delivery_attempts where drain_id = any($1::uuid[]) and error is not null",
                                    [PostgresArray(ids)]).rows[0].int("n")
        XCTAssertEqual(failures, 0)
        XCTAssertEqual(w.stop(), 0)
    }

    func testNewDrainOnAMillionOldRowsIsCheapOnceIdleAndStillPrompt() throws {
        let a = try h.makeAccount()
        let db = try h.connect()
        try db.query("""
            insert into logs (account_id, ts, message, level)
            select $1::bigint, now() - interval '2 days', 'old ' || g, 'info' from generate_series(1, 1000000) g
            """, [a.id])
        let path = "/ok/\(unique("history"))"
        let id = try h.makeDrain(account: a, path: path)
        let w = try WorkerProcess(h, name: unique("history"))
        defer { w.stop() }
        // The worker passes the history once, in bounded steps; then the new-drain filter goes.
        try waitUntil(90, "the history was passed") {
            try db.query("select start_snapshot is null as done from drains where id = $1::uuid", [id]).rows[0].bool("done") == true
        }
        usleep(1_000_000)
        let before = try postgresCPUSeconds()
        usleep(10_000_000)
        let idleCPU = try postgresCPUSeconds() - before
        print("PostgreSQL CPU over 10 idle seconds with a 1,000,000-row history: \(idleCPU) s")
        XCTAssertLessThan(idleCPU, 1.5, "an idle drain must cost a bounded probe per cycle, not its history")

        try insertLogs(db, account: a.id, messages: ["fresh after history"])
        let committed = Date()
        try waitUntil(5, "the new line") { h.received(path).flatMap(\.messages).contains("fresh after history") }
        XCTAssertLessThan(Date().timeIntervalSince(committed), 2.5)
        XCTAssertEqual(h.received(path).flatMap(\.messages), ["fresh after history"], "no line older than 30 s was sent")
    }

    func testSigtermFinishesInFlightDeliveriesWhileTheDatabaseIsDown() throws {
        guard let pgDir = h.env["PG_DIR"], let root = h.env["REPO_ROOT"] else {
            XCTFail("PG_DIR and REPO_ROOT come from deploy/test.sh")
            return
        }
        let a = try h.makeAccount()
        let path = "/sleep/3/\(unique("term"))"
        _ = try h.makeDrain(account: a, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["in flight at SIGTERM"])
        let w = try WorkerProcess(h, name: unique("term"))
        try waitUntil(10, "the request on the wire") { !h.received(path).isEmpty }
        XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["stop", pgDir]), 0)
        // `restart` starts it again on the same port (a plain start may pick another one while
        // the old port's connections linger in TIME_WAIT); it is a no-op stop first.
        defer { _ = spawnAndWait("\(root)/deploy/pg.sh", ["restart", pgDir]) }
        let stopped = Date()
        XCTAssertEqual(w.stop(timeout: 30), 0, "the worker exits 0 even with its outcome unrecorded")
        let took = Date().timeIntervalSince(stopped)
        XCTAssertGreaterThan(took, 1.5, "it waited for the exchange on the wire")
        XCTAssertLessThan(took, 20)
        XCTAssertTrue(w.log.contains("outcomes unrecorded"), w.log)
        XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["restart", pgDir]), 0)
        try waitUntil(20, "the database is back") { (try? h.connect()) != nil }
    }

    /// User plus system CPU seconds of the test cluster's server processes (postmaster and
    /// its children), read from /proc.
    private func postgresCPUSeconds() throws -> Double {
        guard let pgDir = h.env["PG_DIR"] else { throw XCTSkip("PG_DIR comes from deploy/test.sh") }
        let pidFile = try String(contentsOfFile: "\(pgDir)/data/postmaster.pid", encoding: .utf8)
        guard let postmaster = pidFile.split(separator: "\n").first.flatMap({ Int($0) }) else { return 0 }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after "(comm)": state ppid ... utime(14) stime(15), counted from 1 overall.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let ppid = Int(fields[1]), pid == postmaster || ppid == postmaster,
                  let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            total += (user + system) / ticks
        }
        return total
    }
}
