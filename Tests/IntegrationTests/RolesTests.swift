import Foundation
import Postgres
import XCTest

/// DESIGN §5, the database roles: each row of the table tried both ways (what the role may do
/// works, what it may not is refused with SQLSTATE 42501 and changes nothing), and identity
/// taken from the session's login role, not from --as.
final class RolesTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    override func tearDownWithError() throws { try h?.disableAllDrains() }

    /// A fresh login role in `group` (none: no group at all); returns its name.
    private func loginRole(_ group: String?) throws -> String {
        let name = "r_" + UUID().uuidString.prefix(8).lowercased()
        try h.connect().execute(script: "create role \(name) login" + (group.map { " in role \($0)" } ?? ""))
        return name
    }

    /// The test database, connected as `role` (trust authentication on loopback).
    private func url(as role: String) -> String {
        h.databaseURL.replacingOccurrences(of: "://postgres@", with: "://\(role)@")
    }

    private func assertRefused(_ db: PostgresConnection, _ sql: String, _ params: [any PostgresParameter] = [],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try db.query(sql, params), sql, file: file, line: line) {
            XCTAssertEqual(($0 as? PostgresError)?.sqlState, "42501", "\(sql): \($0)", file: file, line: line)
        }
    }

    func testProducerWritesLogsAndNothingElse() throws {
        let role = try loginRole("logdrain_producer")
        let a = try h.makeAccount()
        let db = try PostgresConnection(conninfo: url(as: role))
        try db.query("insert into logs (account_id, ts, message, level) values ($1, now(), 'from a producer', 'info')", [a.id])
        try db.copyIn("copy logs (account_id, ts, message, level) from stdin") { w in
            try w.writeRow([String(a.id), "2026-01-01 00:00:00+00", "copied", "info"])
        }
        let ingest = try runTool(h, "drain-admin", ["ingest", a.name], stdin: #"{"timestamp": "2026-01-01T00:00:00Z", "message": "ingested", "level": "info"}"# + "\n",
                                 env: ["DATABASE_URL": url(as: role)])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        assertRefused(db, "select count(*) from logs")
        assertRefused(db, "select secret from drains")
        assertRefused(db, "select * from accounts")
        assertRefused(db, "update drains set enabled = false")
        assertRefused(db, "select drain_create('x', 'a@b.io', 'n', 'https://h.example/', repeat('s', 64))")
        let n = try h.connect().query("select count(*) as n from logs where account_id = $1", [a.id]).rows[0].int("n")
        XCTAssertEqual(n, 3)
    }

    func testWorkerRoleDeliversAndAutoDisablesButCannotAdminister() throws {
        let role = try loginRole("logdrain_worker")
        let a = try h.makeAccount()
        let okPath = "/ok/\(unique("wrole"))"
        let id = try h.makeDrain(account: a, path: okPath)
        try insertLogs(try h.connect(), account: a.id, messages: ["delivered by a worker role"])
        let b = try h.makeAccount()
        let failing = try h.makeDrain(account: b, path: "/status/500/\(unique("wrole"))")
        try h.connect().query("update drains set consecutive_failures = 4 where id = $1::uuid", [failing])
        try insertLogs(try h.connect(), account: b.id, messages: ["fails"])
        let w = try WorkerProcess(h, name: unique("wrole"), env: ["DATABASE_URL": url(as: role)])
        defer { w.stop() }
        try waitUntil(15, "delivered under logdrain_worker") { h.received(okPath).flatMap(\.messages) == ["delivered by a worker role"] }
        try waitUntil(15, "auto-disabled under logdrain_worker") { (try h.show(failing))["disabled_reason"] as? String == "failures" }
        XCTAssertEqual((try h.show(id))["consecutive_failures"] as? Int, 0)

        let db = try PostgresConnection(conninfo: url(as: role))
        assertRefused(db, "update drains set url = 'https://evil.example/' where id = $1::uuid", [id])
        assertRefused(db, "update drains set next_due_at = now() where id = $1::uuid", [id])
        assertRefused(db, "insert into audit_events (actor, action) values ('w', 'forged')")
        assertRefused(db, "update drains set enabled = true where id = $1::uuid", [failing])
        assertRefused(db, "update drains set disabled_reason = 'manual', enabled = false where id = $1::uuid", [id])
        assertRefused(db, "delete from drains where id = $1::uuid", [id])
        assertRefused(db, "select * from accounts")
        assertRefused(db, "update memberships set role = 'admin'")
        assertRefused(db, "select drain_disable($1::uuid, 'x@y.io')", [id])
        assertRefused(db, "insert into logs (account_id, ts, message, level) values (1, now(), 'x', 'info')")
        XCTAssertEqual((try h.show(failing))["enabled"] as? Bool, false, "nothing changed")
    }

    func testMemberActsOnlyAsItsOwnEmail() throws {
        let role = try loginRole("logdrain_member")
        let a = try h.makeAccount()
        let other = try h.makeAccount()
        let me = "me@\(a.name).example"
        XCTAssertEqual(try runTool(h, "drain-admin", ["member", "add", a.name, me, "--role", "admin", "--db-role", role]).status, 0)
        let members = try runTool(h, "drain-admin", ["member", "list", a.name, "--json"]).array
        XCTAssertEqual(members.first { $0["email"] as? String == me }?["db_role"] as? String, role)
        let asMember = ["DATABASE_URL": url(as: role)]
        func create(_ account: String, as actor: String) throws -> CommandResult {
            try runTool(h, "drain-admin", ["create", account, "--as", actor, "--name", "mine", "--url", h.receiverURL + "/ok/member",
                                           "--secret-file", h.secretFile, "--skip-test", "--disabled", "--json",
                                           "--allow-private-endpoints"], env: asMember)
        }
        let mine = try create(a.name, as: me)
        XCTAssertEqual(mine.status, 0, mine.stderr)
        let someoneElse = try create(a.name, as: a.admin)
        XCTAssertEqual(someoneElse.status, 2, someoneElse.stderr)
        XCTAssertTrue(someoneElse.stderr.contains("acts only as \(me)"), someoneElse.stderr)
        let elsewhere = try create(other.name, as: me)
        XCTAssertEqual(elsewhere.status, 2, elsewhere.stderr)
        let count = try h.connect().query("select count(*) as n from drains where account_id = any($1::bigint[])",
                                          [PostgresArray([a.id, other.id])]).rows[0].int("n")
        XCTAssertEqual(count, 1, "refusals changed nothing")

        let listed = try runTool(h, "drain-admin", ["list", "--json"], env: asMember)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(Set(listed.array.compactMap { $0["account"] as? String }), [a.name], "a member sees only its own accounts")
        for args in [["account", "create", unique("nope")], ["member", "add", a.name, "x@y.example", "--role", "admin"], ["account", "list"]] {
            let r = try runTool(h, "drain-admin", args, env: asMember)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("permission denied"), r.stderr)
        }
        // A read-only member of the same account may not test (read the URL and secret of) a drain.
        let reader = try loginRole("logdrain_member")
        XCTAssertEqual(try runTool(h, "drain-admin", ["member", "add", a.name, "reader@\(a.name).example", "--role", "member",
                                                      "--db-role", reader]).status, 0)
        let readerDB = try PostgresConnection(conninfo: url(as: reader))
        assertRefused(readerDB, "select * from drain_endpoint($1::uuid)", [mine.object["id"] as? String ?? ""])
        XCTAssertEqual(try runTool(h, "drain-admin", ["list", a.name, "--json"], env: ["DATABASE_URL": url(as: reader)]).array.count, 1,
                       "a read-only member still sees the account's status")

        let db = try PostgresConnection(conninfo: url(as: role))
        assertRefused(db, "update drains set url = 'https://evil.example/'")
        assertRefused(db, "delete from drains")
        assertRefused(db, "update memberships set role = 'admin'")
        assertRefused(db, "select member_add($1, 'x@y.example', 'admin')", [a.name])
        assertRefused(db, "select secret from drains")
    }

    func testOperatorActsAsAnyoneAndPublicGetsNothing() throws {
        let operatorRole = try loginRole("logdrain_operator")
        let asOperator = ["DATABASE_URL": url(as: operatorRole)]
        let name = unique("op")
        XCTAssertEqual(try runTool(h, "drain-admin", ["account", "create", name], env: asOperator).status, 0)
        XCTAssertEqual(try runTool(h, "drain-admin", ["member", "add", name, "boss@\(name).example", "--role", "admin"], env: asOperator).status, 0)
        let created = try runTool(h, "drain-admin", ["create", name, "--as", "boss@\(name).example", "--name", "n",
                                                     "--url", h.receiverURL + "/ok/op", "--secret-file", h.secretFile,
                                                     "--skip-test", "--disabled", "--allow-private-endpoints"], env: asOperator)
        XCTAssertEqual(created.status, 0, created.stderr)

        let nobody = try PostgresConnection(conninfo: url(as: try loginRole(nil)))
        for table in ["drains", "logs", "accounts", "memberships", "users", "audit_events", "delivery_attempts", "workers", "drain_status"] {
            assertRefused(nobody, "select * from \(table) limit 1")
        }
        assertRefused(nobody, "insert into logs (account_id, ts, message, level) values (1, now(), 'x', 'info')")
        assertRefused(nobody, "select account_create('x')")
    }

    func testAdminFunctionsAreSecurityDefinerWithAPinnedSearchPath() throws {
        let rows = try h.connect().query("""
            select p.proname, p.prosecdef, coalesce(array_to_string(p.proconfig, ','), '') as config
            from pg_proc p where p.proname in ('account_create', 'member_add', 'drain_create', 'drain_update', 'drain_enable',
                                               'drain_disable', 'drain_delete', 'drain_precheck', 'drain_endpoint')
            """).rows
        XCTAssertGreaterThanOrEqual(rows.count, 9)
        for r in rows {
            XCTAssertEqual(r.bool("prosecdef"), true, r.string("proname") ?? "")
            XCTAssertTrue((r.string("config") ?? "").hasPrefix("search_path="), r.string("config") ?? "")
            XCTAssertTrue((r.string("config") ?? "").contains("standard_conforming_strings=on"), r.string("config") ?? "")
        }
    }

    /// A session with `standard_conforming_strings` off reads a backslash in a literal as an
    /// escape. The URL rule (inlined into the drains constraint, so parsed in the caller's
    /// session) must mean the same there: otherwise a URL saved in such a session would fail
    /// the constraint on every later update, the workers' claims included.
    func testTheURLRuleMeansTheSameWhateverTheCallersStringSyntax() throws {
        let db = try h.connect()
        try db.execute(script: "set standard_conforming_strings = off")
        let r = try db.query("""
            select logdrain_endpoint_url_ok('https://a]') as bad, logdrain_endpoint_url_ok('https://example.com/') as good,
                   logdrain_endpoint_url_ok('https://[::1]:8443/x') as ipv6
            """).rows[0]
        XCTAssertEqual(r.bool("bad"), false)
        XCTAssertEqual(r.bool("good"), true)
        XCTAssertEqual(r.bool("ipv6"), true)
        // The same row with a good URL is accepted (so the refusal below is the URL's).
        let insert = """
            insert into drains (account_id, name, url, secret, enabled, disabled_reason)
            values ($1, $2, $3, repeat('a', 64), false, 'manual')
            """
        XCTAssertNoThrow(try db.query(insert, [try h.makeAccount().id, "good", "https://example.com/"]))
        XCTAssertThrowsError(try db.query(insert, [try h.makeAccount().id, "odd", "https://a]"])) {
            XCTAssertEqual(($0 as? PostgresError)?.sqlState, "23514", "\($0)")
            XCTAssertEqual(($0 as? PostgresError)?.constraint, "drains_url_https", "\($0)")
        }
    }
}
