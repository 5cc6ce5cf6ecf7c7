import Foundation
import XCTest
import Postgres

/// Nothing is lost or delivered concurrently: many workers, crashes, late commits, restarts.
final class ReliabilityTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    /// A drain left enabled (a 12 s endpoint, say) would be claimed by the next test's worker.
    override func tearDownWithError() throws { try h?.disableAllDrains() }


    /// Every expected message arrived (duplicates allowed: delivery is at-least-once), in order
    /// of first arrival.
    private func assertAllDelivered(_ path: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        var seen = Set<String>()
        var firstArrival: [String] = []
        for m in h.received(path).filter({ $0.status == 200 }).flatMap(\.messages) where seen.insert(m).inserted {
            firstArrival.append(m)
        }
        XCTAssertEqual(firstArrival, expected, file: file, line: line)
    }

    func testThreeWorkersNeverDeliverOneDrainConcurrentlyAndLoseNothing() throws {
        let accounts = try (0..<4).map { _ in try h.makeAccount() }
        let paths = accounts.map { _ in "/sleep/0.05/\(unique("multi"))" }
        for (a, p) in zip(accounts, paths) { _ = try h.makeDrain(account: a, path: p, rate: 7) }
        let workers = try (0..<3).map { _ in try WorkerProcess(h, name: unique("multi")) }
        defer { workers.forEach { $0.stop() } }
        let db = try h.connect()
        var expected: [[String]] = accounts.map { _ in [] }
        for round in 0..<10 {
            for (i, a) in accounts.enumerated() {
                let batch = (0..<9).map { "a\(i) r\(round) m\($0)" }
                try insertLogs(db, account: a.id, messages: batch)
                expected[i] += batch
            }
            usleep(100_000)
        }
        for (i, p) in paths.enumerated() {
            try waitUntil(30, "all lines for drain \(i)") { Set(h.received(p).flatMap(\.messages)).count >= expected[i].count }
            assertAllDelivered(p, expected[i])
            // No two requests for one drain overlapped in time.
            let posts = h.received(p)
            for (x, y) in zip(posts, posts.dropFirst()) {
                XCTAssertGreaterThanOrEqual(y.time, x.time + 0.04, "requests for one drain overlapped")
            }
        }
        XCTAssertEqual(workers.map { $0.stop() }, [0, 0, 0])
    }

    func testKillNineMidDeliveryLosesNothing() throws {
        let a = try h.makeAccount()
        let path = "/sleep/1.5/\(unique("kill"))"
        let id = try h.makeDrain(account: a, path: path, rate: 5)
        let db = try h.connect()
        let messages = (0..<12).map { "k\($0)" }
        try insertLogs(db, account: a.id, messages: messages)
        let doomed = try WorkerProcess(h, name: unique("doomed"), extraArgs: ["--lease", "11"])
        try waitUntil(10, "first request in flight") { !h.received(path).isEmpty }
        doomed.kill9()
        // The lease (11 s) expires and another worker resends the same batch, then the rest.
        let rescuer = try WorkerProcess(h, name: unique("rescuer"))
        defer { rescuer.stop() }
        try waitUntil(40, "all lines after the crash") { Set(h.received(path).flatMap(\.messages)).count >= 12 }
        assertAllDelivered(path, messages)
        let posts = h.received(path)
        XCTAssertEqual(posts[0].headers["x-fal-delivery-id"], posts[1].headers["x-fal-delivery-id"], "the interrupted batch was resent as it was")
        XCTAssertEqual(posts[0].body, posts[1].body)
        XCTAssertEqual(posts[1].headers["x-fal-delivery-attempt"], "2")
        try waitUntil(10, "caught up") { (try h.show(id))["lag_seconds"] is NSNull }
    }

    func testTransactionsCommittingOutOfOrderLoseNothing() throws {
        let a = try h.makeAccount()
        let path = "/ok/\(unique("order"))"
        _ = try h.makeDrain(account: a, path: path)
        let w = try WorkerProcess(h, name: unique("order"))
        defer { w.stop() }
        let early = try h.connect()
        let late = try h.connect()
        // `early` takes its transaction id (and row ids) first but commits last.
        try early.execute(script: "begin")
        try insertLogs(early, account: a.id, messages: ["early txn"])
        try insertLogs(late, account: a.id, messages: ["late txn, committed first"])
        try waitUntil(10, "the first commit is not delivered past the open transaction") {
            // Wait long enough for several worker passes.
            usleep(1_500_000)
            return true
        }
        XCTAssertTrue(h.received(path).isEmpty, "nothing may be delivered while an older transaction is open")
        try early.execute(script: "commit")
        try waitUntil(10, "both") { h.received(path).flatMap(\.messages).count >= 2 }
        assertAllDelivered(path, ["early txn", "late txn, committed first"])
    }

    func testPostgresRestartLosesNothing() throws {
        guard let pgDir = h.env["PG_DIR"], let root = h.env["REPO_ROOT"] else {
            XCTFail("PG_DIR and REPO_ROOT come from deploy/test.sh")
            return
        }
        let a = try h.makeAccount()
        let path = "/ok/\(unique("restart"))"
        _ = try h.makeDrain(account: a, path: path, rate: 3)
        let w = try WorkerProcess(h, name: unique("restart"), extraArgs: ["--lease", "11"])
        defer { w.stop() }
        var expected: [String] = []
        let before = (0..<6).map { "before \($0)" }
        try insertLogs(try h.connect(), account: a.id, messages: before)
        expected += before
        try waitUntil(15, "first lines") { !h.received(path).isEmpty }
        XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["restart", pgDir]), 0)
        let after = (0..<6).map { "after \($0)" }
        try insertLogs(try h.connect(), account: a.id, messages: after)
        expected += after
        try waitUntil(30, "all lines after the restart") { Set(h.received(path).flatMap(\.messages)).count >= 12 }
        assertAllDelivered(path, expected)
        XCTAssertTrue(w.process.isRunning, "the worker survived the restart")
        XCTAssertEqual(w.stop(), 0)
    }
}
