import XCTest
import Postgres
import DrainCore

final class PostgresWrapperTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }

    func testUniqueViolationCarriesSQLState() throws {
        let db = try h.connect()
        try db.execute(script: "create temp table u (k int primary key)")
        try db.query("insert into u values ($1::int)", [1])
        XCTAssertThrowsError(try db.query("insert into u values ($1::int)", [1])) { error in
            let e = error as? PostgresError
            XCTAssertEqual(e?.sqlState, "23505")
            XCTAssertEqual(e?.kind, .server)
            XCTAssertTrue(e?.isUniqueViolation ?? false)
            XCTAssertEqual(e?.constraint, "u_pkey")
        }
        // The connection is still usable after an error.
        XCTAssertEqual(try db.query("select 1 as one").rows[0].int("one"), 1)
    }

    func testNullsAndUnicodeRoundTrip() throws {
        let db = try h.connect()
        let text = "héllo \"quoted\" \\ back\nnew 日本 🎉 \u{2028}"
        let r = try db.query("select $1::text as a, $2::text as b, $3::int as c", [text, Optional<String>.none, 42])
        XCTAssertEqual(r.rows[0].string("a"), text)
        XCTAssertNil(r.rows[0].string("b"))
        XCTAssertTrue(r.rows[0].isNull("b"))
        XCTAssertEqual(r.rows[0].int("c"), 42)
        let arr = try db.query("select array_length($1::text[], 1) as n, ($1::text[])[2] as second, ($1::text[])[3] is null as third_null",
                               [PostgresArray(["a,b", "q\"uo\\te", nil])])
        XCTAssertEqual(arr.rows[0].int("n"), 3)
        XCTAssertEqual(arr.rows[0].string("second"), "q\"uo\\te")
        XCTAssertEqual(arr.rows[0].bool("third_null"), true)
    }

    /// An answer that would take the server 500 s (5 ms a row), read row by row and stopped
    /// after three rows: the rest is cancelled, not waited for, and the connection is free for
    /// the next statement. (The server sends in 8 KB packets, so with rows this small the
    /// first ones arrive after about 2 s.)
    func testARowByRowReadStoppedEarlyCancelsTheRest() throws {
        struct Slow: PostgresStatement {
            typealias Row = Void
            static let sql = "select g, pg_sleep(0.005)::text as slept from generate_series(1, 100000) g"
            func makeBindings() -> PostgresBindings { PostgresBindings() }
        }
        let db = try h.connect()
        let started = Date()
        try db.send(Slow())
        var seen: [UInt64] = []
        try db.streamPending { row in
            seen.append(row.unsigned(row.column("g")!))
            XCTAssertEqual(row.byteCount, String(seen.last!).utf8.count, "g's digits, and pg_sleep's empty text")
            return seen.count < 3
        }
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the rest was cancelled, not read")
        XCTAssertFalse(db.hasPending)
        XCTAssertEqual(try db.query("select 1 as one").rows[0].int("one"), 1)
    }

    /// Stopping at the last row, when the server has already finished: the cancel then finds
    /// nothing to stop, and must never land on the statement that follows.
    func testACancelAfterTheLastRowNeverHitsTheNextStatement() throws {
        struct Three: PostgresStatement {
            typealias Row = Void
            static let sql = "select g from generate_series(1, 3) g"
            func makeBindings() -> PostgresBindings { PostgresBindings() }
        }
        let db = try h.connect()
        for round in 0..<50 {
            try db.send(Three())
            var rows = 0
            try db.streamPending { _ in rows += 1; return rows < 3 }
            XCTAssertEqual(rows, 3)
            XCTAssertEqual(try db.query("select $1::int + 1 as next", [round]).rows[0].int("next"), round + 1, "round \(round)")
        }
    }

    /// An error after some rows (division by zero at the third) is thrown with its SQLSTATE
    /// once the rows before it are taken; an error thrown by the reader stops the read and is
    /// rethrown. The connection stays usable after both.
    func testARowByRowReadThrowsTheStatementsOrTheReadersError() throws {
        struct FailsAtThree: PostgresStatement {
            typealias Row = Void
            static let sql = "select 10 / (3 - g) as q from generate_series(1, 5) g"
            func makeBindings() -> PostgresBindings { PostgresBindings() }
        }
        struct ReaderError: Error, Equatable {}
        let db = try h.connect()
        try db.send(FailsAtThree())
        var rows = 0
        XCTAssertThrowsError(try db.streamPending { _ in rows += 1; return true }) {
            XCTAssertEqual(($0 as? PostgresError)?.sqlState, "22012", "\($0)")
        }
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(try db.query("select 1 as one").rows[0].int("one"), 1)

        try db.send(FailsAtThree())
        XCTAssertThrowsError(try db.streamPending { _ in throw ReaderError() }) { XCTAssertTrue($0 is ReaderError, "\($0)") }
        XCTAssertEqual(try db.query("select 1 as one").rows[0].int("one"), 1)
    }

    /// The session ended mid-read (`pg_terminate_backend`): the read throws a connection
    /// error, and the next statement reconnects.
    func testARowByRowReadThatLosesItsConnectionThrowsThenReconnects() throws {
        struct Slow: PostgresStatement {
            typealias Row = Void
            static let sql = "select g, pg_sleep(0.01)::text as slept from generate_series(1, 1000) g"
            func makeBindings() -> PostgresBindings { PostgresBindings() }
        }
        let db = try h.connect()
        let pid = try db.query("select pg_backend_pid() as pid").rows[0].int("pid")!
        let other = try h.connect()
        try db.send(Slow())
        var rows = 0
        XCTAssertThrowsError(try db.streamPending { _ in
            rows += 1
            if rows == 2 { try other.query("select pg_terminate_backend($1::int)", [pid]) }
            return true
        }) { XCTAssertTrue(($0 as? PostgresError)?.isConnectionLoss ?? false, "\($0)") }
        XCTAssertLessThan(rows, 1000)
        XCTAssertEqual(try db.query("select 1 as one").rows[0].int("one"), 1, "reconnected")
    }

    /// Behind a transaction pooler no cancel is sent (an old pgbouncer could deliver it late,
    /// to another statement): a stopped read is dropped, and past `dropAtMost` bytes the
    /// connection is closed instead of reading on (here a 10 GB answer); the next statement
    /// reconnects.
    func testAStoppedReadWithoutCancelClosesTheConnectionPastItsBudget() throws {
        struct Huge: PostgresStatement {
            typealias Row = Void
            static let sql = "select g, repeat('x', 100000) as pad from generate_series(1, 100000) g"
            func makeBindings() -> PostgresBindings { PostgresBindings() }
        }
        let db = try PostgresConnection(conninfo: h.databaseURL, namedStatements: false)
        let pid = try db.query("select pg_backend_pid() as pid").rows[0].int("pid")
        let started = Date()
        try db.send(Huge())
        var rows = 0
        try db.streamPending(dropAtMost: 1 << 20) { _ in rows += 1; return false }
        XCTAssertEqual(rows, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "closed, not read to the end")
        XCTAssertNotEqual(try db.query("select pg_backend_pid() as pid").rows[0].int("pid"), pid, "a new session")
    }

    func testLostConnectionIsReportedThenRecovered() throws {
        let db = try h.connect()
        let pid = try db.query("select pg_backend_pid() as pid").rows[0].int("pid")!
        let other = try h.connect()
        try other.query("select pg_terminate_backend($1::int)", [pid])
        XCTAssertThrowsError(try db.query("select 1")) { error in
            XCTAssertTrue((error as? PostgresError)?.isConnectionLoss ?? false, "\(error)")
        }
        XCTAssertEqual(try db.query("select 2 as two").rows[0].int("two"), 2, "reconnects on the next statement")
    }

    func testConnectionErrorIsTyped() {
        XCTAssertThrowsError(try PostgresConnection(conninfo: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")) { error in
            XCTAssertEqual((error as? PostgresError)?.kind, .connection)
        }
    }

    func testCopyInAndAbort() throws {
        let db = try h.connect()
        try db.execute(script: "create temp table c (a text, b text)")
        let n = try db.copyIn("copy c (a, b) from stdin") { w in
            try w.writeRow(["tab\there", nil])
            try w.writeRow(["back\\slash\nnewline", "é"])
        }
        XCTAssertEqual(n, 2)
        let rows = try db.query("select a, b from c order by a").rows
        XCTAssertEqual(rows.map { $0.string("a") }, ["back\\slash\nnewline", "tab\there"])
        XCTAssertEqual(rows.map { $0.string("b") }, ["é", nil])
        struct Stop: Error {}
        XCTAssertThrowsError(try db.copyIn("copy c (a, b) from stdin") { w in
            try w.writeRow(["x", "y"])
            throw Stop()
        })
        XCTAssertEqual(try db.query("select count(*) as n from c").rows[0].int("n"), 2, "aborted COPY wrote nothing")
    }

    func testTransactionRollsBackOnThrow() throws {
        let db = try h.connect()
        try db.execute(script: "create temp table t (a int)")
        struct Boom: Error {}
        XCTAssertThrowsError(try db.transaction { try db.query("insert into t values (1)"); throw Boom() })
        XCTAssertEqual(try db.query("select count(*) as n from t").rows[0].int("n"), 0)
    }
}

/// Redaction is one rule written twice (Swift for worker errors and CLI output, SQL for the
/// audit trail and the drain_status view); they must agree.
final class RedactionParityTests: XCTestCase {
    func testSwiftAndSQLRedactionAgree() throws {
        let h = try Harness.load()
        let db = try h.connect()
        let urls = [
            "https://logs.example.com/intake",
            "https://user:pw@logs.example.com:8443/v1/input?api_key=SECRET&x=1#frag",
            "https://http-inputs.splunk.example/services/collector/abcdef1234567890abcdef",
            "https://h.example/short/abcdefghijklmnopqrstu?flag&k=v",
            "https://h.example",
            "https://[::1]:9000/p/0123456789abcdef0?token=t",
            "https://h.example/?0123456789abcdef",
            "https://h.example/in;jsessionid=abc123;x/y?a=1&&b",
            "https://h.example/a;/b;=c?=x&",
        ]
        for url in urls {
            let sql = try db.query("select logdrain_redact_url($1) as r", [url]).rows[0].string("r")
            XCTAssertEqual(sql, URLRedaction.redact(url), url)
        }
    }
}

/// The SQL functions psql users call refuse what drain-admin refuses, naming the same field.
final class ValidationParityTests: XCTestCase {
    func testSQLRefusesWhatSwiftRefuses() throws {
        let h = try Harness.load()
        let db = try h.connect()
        let good = "https://h.example/in"
        let secret = String(repeating: "s", count: 64)
        let cases: [(name: String, url: String, secret: String, field: String)] = [
            ("n", "https://h.example:70000/in", secret, "url"),
            ("n", "https://h.example/" + String(repeating: "a", count: 2100), secret, "url"),
            ("n", good, String(repeating: "s", count: 63) + "\n", "secret"),
            ("n", good, String(repeating: "s", count: 40) + "\u{7}" + String(repeating: "s", count: 30), "secret"),
            (String(repeating: "é", count: 100), good, secret, ""),   // 100 code points: allowed on both sides
            (String(repeating: "é", count: 101), good, secret, "name"),
        ]
        for c in cases {
            var swiftField = ""
            do {
                try Validate.drainName(c.name)
                _ = try Validate.endpointURL(c.url)
                try Validate.secret(c.secret)
            } catch { swiftField = error.field }
            var sqlField = ""
            do {
                try db.query("select logdrain_check_drain_fields($1, $2, $3, 1000)", [c.name, c.url, c.secret])
            } catch let e as PostgresError {
                XCTAssertEqual(e.sqlState, "22023", e.description)
                sqlField = String(e.message.prefix { $0 != ":" })
            }
            XCTAssertEqual(swiftField, c.field, "Swift: \(c.url.prefix(40)) / \(c.name.prefix(5))")
            XCTAssertEqual(sqlField, c.field, "SQL: \(c.url.prefix(40)) / \(c.name.prefix(5))")
        }
    }
}
