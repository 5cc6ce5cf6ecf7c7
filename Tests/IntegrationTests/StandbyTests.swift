import Foundation
import Postgres
import Synchronization
import XCTest

/// `drain-worker --read-database-url` (DESIGN §3): log rows are read from a streaming hot standby
/// of the test cluster (`deploy/pg.sh standby`: pg_basebackup -R), claims and outcomes go to the
/// primary. Each line is delivered once and in order, and a retry whose batch the standby has not
/// replayed yet waits for it (replay paused with pg_wal_replay_pause) instead of sending less.
final class StandbyTests: XCTestCase {
    var h: Harness!
    static let standby = Mutex<String?>(nil)

    override func setUpWithError() throws {
        h = try Harness.load()
        _ = try standbyURL()
    }

    /// The standby's URL, made once per test run (stopped by deploy/test.sh's cleanup).
    func standbyURL() throws -> String {
        try Self.standby.withLock { url in
            if let url { return url }
            guard let tmp = h.env["LOGDRAIN_TEST_TMP"], let root = h.env["REPO_ROOT"] else {
                throw XCTSkip("LOGDRAIN_TEST_TMP and REPO_ROOT come from deploy/test.sh")
            }
            XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["standby", "\(tmp)/standby", h.databaseURL]), 0)
            let made = try String(contentsOfFile: "\(tmp)/standby/url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(try PostgresConnection(conninfo: made).query("select pg_is_in_recovery() as r").rows[0].bool("r"), true)
            url = made
            return made
        }
    }

    /// Waits until the standby has replayed everything the primary has written so far.
    func caughtUp(_ standby: PostgresConnection) throws {
        let lsn = try h.connect().query("select pg_current_wal_lsn()::text as lsn").rows[0].requiredString("lsn")
        try waitUntil(20, "the standby replays to \(lsn)") {
            try standby.query("select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok", [lsn]).rows[0].bool("ok") == true
        }
    }

    func testLinesReadFromTheStandbyArriveOnceAndInOrder() throws {
        let standbyURL = try standbyURL()
        let a = try h.makeAccount("sb")
        let path = "/ok/\(unique("standby"))"
        let id = try h.makeDrain(account: a, path: path, rate: 7)
        let db = try h.connect()
        var expected: [String] = []
        for t in 0..<5 {  // five transactions of eight lines
            let messages = (0..<8).map { "standby t\(t) line \($0)" }
            try insertLogs(db, account: a.id, messages: messages)
            expected += messages
        }
        let w = try WorkerProcess(h, name: unique("standby"), extraArgs: ["--read-database-url", standbyURL])
        defer { w.stop() }
        try waitUntil(30, "every line") { h.received(path).flatMap(\.messages).count >= expected.count }
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(h.received(path).flatMap(\.messages), expected, "once each, in commit order")
        XCTAssertTrue(h.received(path).allSatisfy(\.signatureValid))
        XCTAssertTrue(h.received(path).allSatisfy { $0.lines.count <= 7 })
        XCTAssertEqual(try h.show(id)["delivered_lines"] as? Int, expected.count)
        XCTAssertFalse(w.log.contains(" error "), w.log)
    }

    func testARetryWaitsForTheStandbyToReplayItsBatchThenResendsTheSameBytes() throws {
        let standbyURL = try standbyURL()
        let standby = try PostgresConnection(conninfo: standbyURL)
        let a = try h.makeAccount("sb")
        let path = "/flaky/1/\(unique("standby-retry"))"
        let id = try h.makeDrain(account: a, path: path)
        try caughtUp(standby)
        try standby.query("select pg_wal_replay_pause()")
        var resumed = false
        defer { if !resumed { _ = try? standby.query("select pg_wal_replay_resume()") } }
        try insertLogs(try h.connect(), account: a.id, messages: ["only on the primary 1", "only on the primary 2", "only on the primary 3"])

        // A worker reading from the primary fixes the batch; the endpoint fails it once.
        let first = try WorkerProcess(h, name: unique("primary-reader"), extraArgs: ["--backoff-base", "30", "--backoff-max", "60"])
        try waitUntil(20, "the first attempt's failure") { (try h.show(id)["consecutive_failures"] as? Int) == 1 }
        XCTAssertEqual(first.stop(), 0)
        try h.connect().query("update drains set next_due_at = now() where id = $1::uuid", [id])

        // A worker reading from the paused standby must not send a shorter batch, nor count a gap.
        let second = try WorkerProcess(h, name: unique("standby-reader"), extraArgs: ["--read-database-url", standbyURL])
        defer { second.stop() }
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(h.received(path).count, 1, "nothing sent while the standby lacks the batch")
        let waiting = try h.show(id)
        XCTAssertTrue(waiting["gap"] is NSNull, "no gap: \(waiting)")
        XCTAssertEqual(waiting["consecutive_failures"] as? Int, 1, "waiting is not a failure")

        try standby.query("select pg_wal_replay_resume()")
        resumed = true
        try waitUntil(20, "the retry") { h.received(path).count >= 2 }
        let sent = h.received(path)
        XCTAssertEqual(sent.count, 2)
        XCTAssertEqual(sent[1].body, sent[0].body, "byte-identical")
        XCTAssertEqual(sent[1].headers["x-fal-delivery-id"], sent[0].headers["x-fal-delivery-id"])
        XCTAssertEqual(sent[1].headers["x-fal-delivery-attempt"], "2")
        XCTAssertEqual(sent[1].messages, ["only on the primary 1", "only on the primary 2", "only on the primary 3"])
        try waitUntil(10, "the success recorded") { (try h.show(id)["delivered_lines"] as? Int) == 3 }
        XCTAssertTrue(try h.show(id)["gap"] is NSNull)
    }
}
