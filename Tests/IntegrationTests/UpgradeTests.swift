import DrainStore
import Foundation
import Postgres
import XCTest

/// An installation from before this version (migrations 001 and 002 only), already holding
/// drains and log rows, some over the new producer limits, upgraded by `drain-admin migrate`.
final class UpgradeTests: XCTestCase {
    func testMigrateUpgradesAPopulatedVersionTwoDatabase() throws {
        let h = try Harness.load()
        guard let root = h.env["REPO_ROOT"] else { throw XCTSkip("REPO_ROOT comes from deploy/test.sh") }
        let name = "upgrade_" + UUID().uuidString.prefix(8).lowercased()
        try h.connect().execute(script: "create database \(name)")
        defer { _ = try? h.connect().execute(script: "drop database \(name) with (force)") }
        let url = h.databaseURL.replacingOccurrences(of: "/logdrain", with: "/\(name)")
        let old = try PostgresConnection(conninfo: url)
        // What the previous drain-admin applied: 001 and 002, recorded as it recorded them.
        try old.execute(script: "create table schema_migrations (version text primary key, applied_at timestamptz not null default now())")
        for version in ["001_schema", "002_admin"] {
            try old.execute(script: try String(contentsOfFile: "\(root)/sql/\(version).sql", encoding: .utf8))
            try old.query("insert into schema_migrations (version) values ($1)", [version])
        }
        let accountID = try old.query("select id from account_create('legacy')").rows[0].int64("id") ?? 0
        try old.query("select member_add('legacy', 'ops@legacy.example', 'admin')")
        let path = "/ok/\(unique("upgrade"))"
        try old.query("select drain_create('legacy', 'ops@legacy.example', 'old drain', $1, $2)", [h.receiverURL + path, h.secret])
        // Rows a producer wrote before the limits: one with a 5 MiB message (over the 4 MiB batch cap too).
        try old.query("""
            insert into logs (account_id, ts, message, level)
            values ($1, now(), 'before', 'info'), ($1, now(), repeat('m', 5242880), 'info'), ($1, now(), 'after', 'info')
            """, [accountID])

        let migrated = try runTool(h, "drain-admin", ["migrate"], env: ["DATABASE_URL": url])
        XCTAssertEqual(migrated.status, 0, migrated.stderr)
        XCTAssertTrue(migrated.stdout.contains("003_delivery_v2") && migrated.stdout.contains(Migrator.versions.last!), migrated.stdout)
        let constraint = try old.query("select convalidated from pg_constraint where conname = 'logs_message_size'").rows
        XCTAssertEqual(constraint.first?.bool("convalidated"), false, "old rows over the limit: added NOT VALID")
        XCTAssertThrowsError(try old.query("insert into logs (account_id, ts, message, level) values ($1, now(), repeat('m', 1048577), 'info')",
                                           [accountID])) { XCTAssertEqual(($0 as? PostgresError)?.sqlState, "23514") }
        let roles = try old.query("select count(*) as n from pg_roles where rolname like 'logdrain_%'").rows[0].int("n")
        XCTAssertGreaterThanOrEqual(roles ?? 0, 4)

        // The old drain delivers every old line; the oversize one as a batch of its own.
        let w = try WorkerProcess(h, name: unique("upgrade"), env: ["DATABASE_URL": url])
        defer { w.stop() }
        try waitUntil(20, "the old lines") { h.received(path).flatMap(\.messages).count >= 3 }
        let posts = h.received(path)
        XCTAssertEqual(posts.flatMap(\.messages).map { $0.count > 100 ? "big" : $0 }, ["before", "big", "after"])
        XCTAssertEqual(posts.first { $0.body.count > 5_000_000 }?.lines.count, 1)
        XCTAssertTrue(posts.allSatisfy(\.signatureValid))
        XCTAssertEqual(w.stop(), 0)
    }
}
