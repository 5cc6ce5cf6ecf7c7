import Foundation
import XCTest
import Postgres
import DrainCore
@testable import DrainStore

final class MigrationTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }

    func testMigrateIsIdempotentAndSafeConcurrently() throws {
        XCTAssertEqual(try runTool(h, "drain-admin", ["migrate"]).status, 0)
        // Three at once: the advisory lock serialises them; all succeed.
        let h = self.h!
        let statuses = concurrently(3) { _ in (try? runTool(h, "drain-admin", ["migrate"]))?.status ?? -1 }
        XCTAssertEqual(statuses, [0, 0, 0])
        let db = try h.connect()
        XCTAssertEqual(try db.query("select count(*) as n from schema_migrations").rows[0].int("n"), Migrator.versions.count)
    }

    func testMigrateFromAnotherDirectoryUsesEmbeddedSQL() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(h.binDir)/drain-admin")
        p.arguments = ["migrate"]
        p.currentDirectoryURL = URL(fileURLWithPath: "/")
        p.environment = ["DATABASE_URL": h.databaseURL, "PATH": "/usr/bin:/bin"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// The binary carries sql/ verbatim (the EmbedMigrations build plugin), in order.
    func testEmbeddedMigrationsMatchSQLDirectory() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("sql").path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        XCTAssertEqual(files.map { String($0.dropLast(4)) }, Migrator.versions)
        for (file, m) in zip(files, Migrator.migrations) {
            let text = try String(contentsOf: root.appendingPathComponent("sql/\(file)"), encoding: .utf8)
            XCTAssertEqual(text, m.sql, "\(file) differs from the embedded copy")
        }
    }

    /// Swift and SQL read each number from one place: `logdrain_limit` answers DrainCore's
    /// `Limits`, the drains table's default and check use it, and the producer limits the
    /// `logs` constraints state (sql/003, kept as written there) are the same numbers.
    func testTheDatabaseReadsDrainCoreLimits() throws {
        XCTAssertEqual(try runTool(h, "drain-admin", ["migrate"]).status, 0)
        let db = try h.connect()
        for (name, value) in Limits.sqlValues {
            XCTAssertEqual(try db.query("select logdrain_limit($1) as v", [name]).rows[0].int("v"), value, name)
        }
        let defaultRate = try db.query("""
            select pg_get_expr(d.adbin, d.adrelid) as expr from pg_attrdef d
            join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
            where d.adrelid = 'drains'::regclass and a.attname = 'sampling_rate'
            """).rows[0].string("expr") ?? ""
        XCTAssertTrue(defaultRate.contains("logdrain_limit('default_sampling_rate'"), defaultRate)
        func constraint(_ name: String) throws -> String {
            try db.query("select pg_get_constraintdef(oid) as def from pg_constraint where conname = $1 limit 1", [name])
                .rows[0].string("def") ?? ""
        }
        XCTAssertTrue(try constraint("drains_sampling_rate").contains("logdrain_limit('max_sampling_rate'"))
        XCTAssertTrue(try constraint("logs_message_size").contains(String(Limits.maxMessageBytes)))
        XCTAssertTrue(try constraint("logs_level_size").contains(String(Limits.maxLevelBytes)))
        XCTAssertTrue(try constraint("logs_fal_size").contains(String(Limits.maxLabelBytes)))
        // The functions psql users call answer with the same bounds.
        XCTAssertThrowsError(try db.query("select logdrain_check_drain_fields(null, null, null, $1)", [Limits.maxSamplingRate + 1])) {
            XCTAssertTrue("\($0)".contains("between \(Limits.samplingRates.lowerBound) and \(Limits.maxSamplingRate)"), "\($0)")
        }
        XCTAssertNoThrow(try db.query("select logdrain_check_drain_fields(null, null, null, $1)", [Limits.maxSamplingRate]))
    }

    /// The URL rule in the drains constraint is inlined (no function call per updated row):
    /// pinning its search_path again would quietly make every worker update slower.
    func testTheURLCheckIsInlinedIntoTheDrainsConstraint() throws {
        let plan = try h.connect().query("explain verbose select logdrain_endpoint_url_ok(url) as ok from drains").rows
            .compactMap { $0.string("QUERY PLAN") }.joined(separator: "\n")
        XCTAssertTrue(plan.contains("~*"), plan)
        XCTAssertFalse(plan.contains("logdrain_endpoint_url_ok"), plan)
    }

    func testPartitionsExistAheadAndMaintainRuns() throws {
        let r = try runTool(h, "drain-admin", ["maintain", "--days-ahead", "3", "--retention-days", "7"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let db = try h.connect()
        let n = try db.query("""
            select count(*) as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'logs'::regclass and c.relname ~ '^logs_p[0-9]{8}$'
            """).rows[0].int("n") ?? 0
        XCTAssertGreaterThanOrEqual(n, 4)
        XCTAssertNotEqual(try runTool(h, "drain-admin", ["maintain", "--retention-days", "0"]).status, 0)
    }
}

final class IngestTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }

    private func count(_ account: Int64) throws -> Int {
        try h.connect().query("select count(*) as n from logs where account_id = $1::bigint", [account]).rows[0].int("n") ?? -1
    }

    func testIngestStoresLinesInUTCAndSkipsBlankLines() throws {
        let a = try h.makeAccount()
        let input = """
            {"timestamp": "2026-02-17T10:30:00.123+02:00", "message": "one", "level": "info", "fal_app_name": "app", "fal_job_id": ""}

            {"timestamp": "2026-02-17T10:30:01Z", "message": "two\\nlines \\u00e9", "level": "error"}

            """
        let r = try runTool(h, "drain-admin", ["ingest", a.name], stdin: input)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("ingested 2 lines"), r.stdout)
        let rows = try h.connect().query("""
            select to_char(ts at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') as ts, message, level, fal_app_name, fal_job_id, fal_node_id
            from logs where account_id = $1::bigint order by id
            """, [a.id]).rows
        XCTAssertEqual(rows.map { $0.string("ts") }, ["2026-02-17 08:30:00.123", "2026-02-17 10:30:01.000"])
        XCTAssertEqual(rows.map { $0.string("message") }, ["one", "two\nlines é"])
        XCTAssertEqual(rows[0].string("fal_job_id"), "", "an empty string is a value")
        XCTAssertNil(rows[0].string("fal_node_id"))
    }

    func testBadLineIsNamedAndNothingIsIngested() throws {
        let a = try h.makeAccount()
        let good = #"{"timestamp": "2026-02-17T10:30:00Z", "message": "ok", "level": "info"}"#
        let cases: [(String, String)] = [
            ("not json", "line 3: not a JSON object"),
            (#"{"timestamp": "2026-02-17T10:30:00Z", "level": "info"}"#, "line 3: missing field message"),
            (#"{"timestamp": "2026-02-17T10:30:00Z", "message": "m", "level": "info", "colour": "red"}"#, "line 3: unknown field \"colour\""),
            (#"{"timestamp": "2026-02-17T10:30:00Z", "message": 1, "level": "info"}"#, "line 3: field message must be a string"),
            (#"{"timestamp": "17 Feb 2026", "message": "m", "level": "info"}"#, "line 3: timestamp"),
        ]
        for (bad, expected) in cases {
            // Many good lines first, so the COPY has already streamed rows when it is aborted.
            let input = ([good, good, bad] + Array(repeating: good, count: 5000)).joined(separator: "\n")
            let r = try runTool(h, "drain-admin", ["ingest", a.name], stdin: input)
            XCTAssertEqual(r.status, 2, bad)
            XCTAssertTrue(r.stderr.contains(expected), "\(r.stderr) should contain \(expected)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
            XCTAssertEqual(try count(a.id), 0, "nothing ingested for \(bad)")
        }
    }

    func testIngestFromFileAndUnknownAccount() throws {
        let a = try h.makeAccount()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-\(UUID().uuidString).ndjson")
        let lines = (1...2500).map { #"{"timestamp": "2026-02-17T10:30:00Z", "message": "m\#($0)", "level": "info"}"# }
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let r = try runTool(h, "drain-admin", ["ingest", a.name, file.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try count(a.id), 2500)
        let missing = try runTool(h, "drain-admin", ["ingest", "no-such-account"], stdin: lines[0])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no account named no-such-account"), missing.stderr)
        let noFile = try runTool(h, "drain-admin", ["ingest", a.name, "/nonexistent.ndjson"])
        XCTAssertNotEqual(noFile.status, 0)
        XCTAssertTrue(noFile.stderr.contains("/nonexistent.ndjson"), noFile.stderr)
    }
}
