import XCTest
import DrainCore
import Postgres
@testable import DrainStore

/// The statements' shape, without a database: each binds exactly the parameters its SQL uses,
/// and the limits the database reads are DrainCore's.
final class StatementTests: XCTestCase {
    /// The highest `$n` in a statement (outside string literals, which ours do not use for it).
    private func highestParameter(_ sql: String) -> Int {
        let regex = try! NSRegularExpression(pattern: #"\$([0-9]+)"#)
        let range = NSRange(sql.startIndex..., in: sql)
        return regex.matches(in: sql, range: range).compactMap { Int((sql as NSString).substring(with: $0.range(at: 1))) }.max() ?? 0
    }

    private func assertBinds<S: PostgresStatement>(_ statement: S, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(statement.makeBindings().count, highestParameter(S.sql), "\(S.self)", file: file, line: line)
    }

    func testEveryStatementBindsWhatItsSQLUses() {
        let drain = ClaimedDrain(id: "d", accountID: 1, url: "u", secret: "s", samplingRate: 10, leaseToken: 1,
                                 consecutiveFailures: 0, pendingLines: nil, filtering: false)
        let batch = Batch(body: [1], lines: 1, endXact: "7", endID: 9)
        let facts = SQL.Delivery.AttemptFacts(deliveryID: "x", attempt: 1, lines: 1, bytes: 1, status: 200, milliseconds: 1)
        let state = SQL.Delivery.StreamState(id: "d", accountID: 1, cursorXact: "1", cursorID: 1, batchEndXact: nil, batchEndID: nil,
                                             samplingRate: 10, startSnapshot: nil, startTS: nil)
        assertBinds(SQL.Delivery.Claim(limit: 1, worker: "w", leaseSeconds: 30, excluding: []))
        assertBinds(SQL.Delivery.EndNeedlessFilters(drains: [drain]))
        assertBinds(SQL.Delivery.SkipFiltered(drainID: "d", leaseToken: 1, scanLimit: 10))
        assertBinds(SQL.Delivery.DropPendingBatch(drainID: "d", leaseToken: 1, missingLines: 1))
        assertBinds(SQL.Delivery.Advance(drainID: "d", leaseToken: 1, next: batch, leaseSeconds: 30, sent: facts, worker: "w"))
        assertBinds(SQL.Delivery.BeginAttempts(items: [(drain, batch)]))
        assertBinds(SQL.Delivery.ReleaseIdle(drains: [drain], dueInSeconds: 1))
        assertBinds(SQL.Delivery.RecordSuccesses(items: [.init(drain: drain, dueInSeconds: 1, sent: facts)], worker: "w"))
        assertBinds(SQL.Delivery.RecordFailure(drainID: "d", leaseToken: 1, retryInSeconds: 1, error: "e", configVersion: 1, sent: facts, worker: "w"))
        assertBinds(SQL.Delivery.ReadBatches(drains: [drain]))
        assertBinds(SQL.Delivery.ReadNextBatch(drain: drain, afterXact: "7", afterID: 9))
        assertBinds(SQL.Delivery.ReadState(drains: [drain]))
        assertBinds(SQL.Delivery.ReadBatchesOnStandby(states: [state]))
        assertBinds(SQL.Delivery.NotReplayedOnStandby(pending: [state]))
        assertBinds(SQL.Delivery.ReadNextBatchOnStandby(drain: drain, afterXact: "7", afterID: 9))
        assertBinds(SQL.Drains.Create(drain: NewDrain(account: "a", actor: "b", name: "n", url: "u", secret: "s", samplingRate: 1, enabled: true)))
        assertBinds(SQL.Drains.Update(id: "d", actor: "a", change: DrainChange()))
        assertBinds(SQL.Drains.Enable(id: "d", actor: "a", skipBacklog: false))
        assertBinds(SQL.Drains.Show(id: "d"))
        assertBinds(SQL.Drains.ListAll())
        assertBinds(SQL.Drains.ListAccount(account: "a"))
        assertBinds(SQL.Drains.RecentAttempts(id: "d"))
        assertBinds(SQL.Drains.ReplaceSecret(id: "d", old: "o", new: "n"))
        assertBinds(SQL.Tokens.Create(account: "a", email: "e", lookupKey: "k", hash: "h"))
        assertBinds(SQL.Tokens.CreateSession(tokenID: 1, sessionHash: "h", csrf: "c", seconds: 1))
        assertBinds(SQL.Members.Add(account: "a", email: "e", role: "admin", dbRole: nil))
        assertBinds(SQL.Maintenance.Run(daysAhead: nil, retentionDays: nil, by: "x"))
        assertBinds(SQL.Workers.Heartbeat(name: "w", host: "h", pid: 1, inFlight: 0))
        assertBinds(SQL.Workers.List(withinSeconds: 60))
    }

    /// A worker function's call names each argument, so a reordered list cannot bind a value
    /// to the wrong one.
    func testWorkerCallsNameTheirArguments() {
        for function in SQL.Delivery.workerFunctions {
            for (index, argument) in function.arguments.enumerated() {
                XCTAssertTrue(function.callSQL.contains("\(argument.name) => $\(index + 1)::\(argument.type)"), function.name)
            }
        }
    }

    func testTheDatabaseReadsDrainCoreLimits() {
        let ddl = SQL.Limits.ddl
        for (name, value) in Limits.sqlValues {
            XCTAssertTrue(ddl.contains("when '\(name)' then \(value)"), name)
        }
        XCTAssertTrue(ddl.contains("when 'failures_before_disable' then \(Limits.failuresBeforeDisable)"))
    }
}
