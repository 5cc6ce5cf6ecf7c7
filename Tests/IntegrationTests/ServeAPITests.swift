import Foundation
import Postgres
import XCTest

/// The JSON API of `drain-admin serve` (DESIGN §6) over real HTTP, against the real database and
/// the HTTPS receiver: every endpoint, every error status, and the boundaries between accounts
/// and roles. The CLI is the oracle: what the API did is read back with `drain-admin ... --json`.
final class ServeAPITests: XCTestCase {
    var h: Harness!
    var serve: ServeProcess!
    var api: String { serve.baseURL + "/api/v1" }

    override func setUpWithError() throws {
        h = try Harness.load()
        serve = try ServeProcess(h)
    }

    override func tearDown() { serve?.stop() }

    /// An account with an admin and a read-only member, and their tokens.
    func account() throws -> (name: String, id: Int64, admin: String, adminToken: String, memberToken: String) {
        let a = try h.makeAccount("api")
        let member = "viewer@\(a.name).example"
        XCTAssertEqual(try runTool(h, "drain-admin", ["member", "add", a.name, member, "--role", "member"]).status, 0)
        return (a.name, a.id, a.admin, try h.token(a.name, a.admin), try h.token(a.name, member))
    }

    func createBody(name: String, path: String, extra: String = "") -> String {
        #"{"name": "\#(name)", "url": \#(h.quoted(h.receiverURL + path)), "secret": \#(h.quoted(h.secret))\#(extra)}"#
    }

    func testTokensAuthenticateAndRevokedOrForgedOnesAreRefused() throws {
        let a = try account()
        for token in [nil, "nonsense", "ldt_" + String(repeating: "0", count: 64),
                      String(a.adminToken.dropLast()) + (a.adminToken.hasSuffix("0") ? "1" : "0")] {
            let r = try http("GET", api + "/drains", token: token)
            XCTAssertEqual(r.status, 401, "token \(token ?? "none"): \(r.body)")
            XCTAssertEqual(r.error["code"] as? String, "unauthorized")
            XCTAssertEqual(r.headers["www-authenticate"], "Bearer")
        }
        XCTAssertEqual(try http("GET", api + "/drains", token: a.adminToken).status, 200)
        // The database keeps the SHA-256 of the token, and the token itself nowhere.
        let db = try h.connect()
        let hashed = try db.query("select count(*) as n from api_tokens where token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')",
                                  [a.adminToken]).rows[0].int("n")
        XCTAssertEqual(hashed, 1)
        let plain = try db.query("""
            select (select count(*) from api_tokens t where strpos(t::text, $1) > 0)
                 + (select count(*) from audit_events e where strpos(e::text, $1) > 0)
                 + (select count(*) from dashboard_sessions s where strpos(s::text, $1) > 0) as n
            """, [String(a.adminToken.dropFirst(4 + 12))]).rows[0].int("n")
        XCTAssertEqual(plain, 0, "no table holds the token's secret part")
        let revoked = try runTool(h, "drain-admin", ["token", "revoke", a.name, a.admin])
        XCTAssertEqual(revoked.status, 0, revoked.stderr)
        XCTAssertEqual(try http("GET", api + "/drains", token: a.adminToken).status, 401)
        XCTAssertEqual(try http("GET", api + "/drains", token: a.memberToken).status, 200, "only that member's tokens end")
    }

    func testCreateShowListUpdateEnableDisableTestDelete() throws {
        let a = try account()
        let path = "/api-crud/\(UUID().uuidString)"
        let created = try http("POST", api + "/drains", token: a.adminToken, json: createBody(name: "Datadog", path: path))
        XCTAssertEqual(created.status, 201, created.body)
        let id = try XCTUnwrap(created.object["id"] as? String)
        XCTAssertNil(created.object["secret"], "a given secret is never shown again")
        let tests = h.received(path)
        XCTAssertEqual(tests.count, 1, "create sends one signed test line first")
        XCTAssertTrue(tests.first?.signatureValid ?? false)

        // The object is the one `show --json` prints, key for key.
        let shown = try h.show(id)
        for key in ["id", "account", "name", "url", "enabled", "disabled_reason", "sampling_rate", "consecutive_failures",
                    "last_success_at", "last_failure_at", "last_error", "created_at"] {
            XCTAssertNotNil(created.object.index(forKey: key), "key \(key)")
            XCTAssertEqual("\(created.object[key] ?? "nil")", "\(shown[key] ?? "nil")", key)
        }
        XCTAssertEqual(created.object["account"] as? String, a.name)

        let listed = try http("GET", api + "/drains", token: a.adminToken)
        XCTAssertEqual(listed.status, 200)
        XCTAssertEqual(listed.array.map { $0["id"] as? String }, [id])
        XCTAssertEqual(try http("GET", api + "/drains/\(id)", token: a.memberToken).object["name"] as? String, "Datadog")

        let patched = try http("PATCH", api + "/drains/\(id)", token: a.adminToken, json: #"{"name": "Splunk", "sampling_rate": 250}"#)
        XCTAssertEqual(patched.status, 200, patched.body)
        XCTAssertEqual(patched.object["name"] as? String, "Splunk")
        XCTAssertEqual(patched.object["sampling_rate"] as? Int, 250)
        XCTAssertEqual(try h.show(id)["name"] as? String, "Splunk")

        let disabled = try http("POST", api + "/drains/\(id)/disable", token: a.adminToken)
        XCTAssertEqual(disabled.status, 200, disabled.body)
        XCTAssertEqual(disabled.object["enabled"] as? Bool, false)
        XCTAssertEqual(try h.show(id)["disabled_reason"] as? String, "manual")
        let enabled = try http("POST", api + "/drains/\(id)/enable", token: a.adminToken, json: #"{"skip_backlog": true}"#)
        XCTAssertEqual(enabled.status, 200, enabled.body)
        XCTAssertEqual(try h.show(id)["enabled"] as? Bool, true)

        let tested = try http("POST", api + "/drains/\(id)/test", token: a.adminToken)
        XCTAssertEqual(tested.status, 200, tested.body)
        XCTAssertEqual(tested.object["ok"] as? Bool, true)
        XCTAssertEqual(h.received(path).count, 2)
        XCTAssertNil(try h.show(id)["last_success_at"] as? String, "a test line changes no drain state")

        let audit = try runTool(h, "drain-admin", ["audit", a.name, "--json"]).array
        XCTAssertTrue(audit.contains { $0["action"] as? String == "drain.update" && $0["actor"] as? String == a.admin },
                      "the API acts as the token's member: \(audit)")

        let deleted = try http("DELETE", api + "/drains/\(id)", token: a.adminToken)
        XCTAssertEqual(deleted.status, 204)
        XCTAssertEqual(deleted.body, "")
        XCTAssertEqual(try http("GET", api + "/drains/\(id)", token: a.adminToken).status, 404)
        XCTAssertEqual(try runTool(h, "drain-admin", ["list", a.name, "--json"]).array.count, 0)
    }

    func testGeneratedSecretIsShownOnceAndSigns() throws {
        let a = try account()
        let path = "/api-gen/\(UUID().uuidString)"
        let r = try http("POST", api + "/drains", token: a.adminToken,
                         json: #"{"name": "gen", "url": \#(h.quoted(h.receiverURL + path)), "generate_secret": true, "skip_test": true, "disabled": true}"#)
        XCTAssertEqual(r.status, 201, r.body)
        let secret = try XCTUnwrap(r.object["secret"] as? String)
        XCTAssertGreaterThanOrEqual(secret.count, 64)
        XCTAssertEqual(r.object["enabled"] as? Bool, false)
        XCTAssertEqual(r.object["disabled_reason"] as? String, "manual")
        XCTAssertTrue(h.received(path).isEmpty, "skip_test sends nothing")
        let again = try http("GET", api + "/drains/\(r.object["id"] as? String ?? "")", token: a.adminToken)
        XCTAssertNil(again.object["secret"])
        XCTAssertFalse(again.body.contains(secret))
    }

    func testBadInputIs400NamingTheFieldAndWritesNothing() throws {
        let a = try account()
        let url = h.quoted(h.receiverURL + "/api-bad")
        let secret = h.quoted(h.secret)
        let cases: [(String, String?)] = [
            (#"{"name": "", "url": \#(url), "secret": \#(secret)}"#, "name"),
            (#"{"name": "x", "url": "http://example.com/", "secret": \#(secret)}"#, "url"),
            (#"{"name": "x", "url": \#(url), "secret": "short"}"#, "secret"),
            (#"{"name": "x", "url": \#(url)}"#, "secret"),
            (#"{"name": "x", "url": \#(url), "secret": \#(secret), "generate_secret": true}"#, "secret"),
            (#"{"name": "x", "url": \#(url), "secret": \#(secret), "sampling_rate": 0}"#, "sampling_rate"),
            (#"{"name": "x", "url": \#(url), "secret": \#(secret), "sampling_rate": 5001}"#, "sampling_rate"),
            (#"{"name": "x", "url": \#(url), "secret": \#(secret), "sampling_rate": "10"}"#, "sampling_rate"),
            (#"{"name": "x", "url": \#(url), "secret": \#(secret), "sampling_rate": 1.5}"#, "sampling_rate"),
            (#"{"name": "x", "url": \#(url), "secret": \#(secret), "samplingrate": 10}"#, "samplingrate"),
            (#"{"url": \#(url), "secret": \#(secret)}"#, "name"),
            (#"{"name": 7, "url": \#(url), "secret": \#(secret)}"#, "name"),
            (#"{"name": "x", "#, nil),
            (#"["name"]"#, nil),
        ]
        for (body, field) in cases {
            let r = try http("POST", api + "/drains", token: a.adminToken, json: body)
            XCTAssertEqual(r.status, 400, "\(body): \(r.body)")
            XCTAssertEqual(r.error["code"] as? String, "invalid", body)
            XCTAssertEqual(r.errorField, field, body)
            XCTAssertFalse((r.error["message"] as? String ?? "").isEmpty)
        }
        XCTAssertEqual(try runTool(h, "drain-admin", ["list", a.name, "--json"]).array.count, 0)
        XCTAssertTrue(h.received("/api-bad").isEmpty)

        let id = try h.makeDrain(account: (a.name, a.id, a.admin), path: "/api-bad-patch")
        for (body, field) in [(#"{"sampling_rate": -1}"#, "sampling_rate"), (#"{"url": "ftp://x"}"#, "url"),
                              (#"{"enabled": false}"#, "enabled"), (#"{"name": null, "secret": "x"}"#, "secret")] {
            let r = try http("PATCH", api + "/drains/\(id)", token: a.adminToken, json: body)
            XCTAssertEqual(r.status, 400, "\(body): \(r.body)")
            XCTAssertEqual(r.errorField, field, body)
        }
        XCTAssertEqual(try http("PATCH", api + "/drains/\(id)", token: a.adminToken, json: "{}").status, 400, "nothing to change")
        XCTAssertEqual(try h.show(id)["sampling_rate"] as? Int, 1000)
    }

    func testSecondEnabledDrainIs409AndAFailedTestIs422() throws {
        let a = try account()
        let first = try http("POST", api + "/drains", token: a.adminToken, json: createBody(name: "one", path: "/api-409"))
        XCTAssertEqual(first.status, 201, first.body)
        let second = try http("POST", api + "/drains", token: a.adminToken, json: createBody(name: "two", path: "/api-409b"))
        XCTAssertEqual(second.status, 409, second.body)
        XCTAssertEqual(second.error["code"] as? String, "conflict")
        XCTAssertTrue(h.received("/api-409b").isEmpty, "refused before the endpoint is contacted")
        let parked = try http("POST", api + "/drains", token: a.adminToken,
                              json: createBody(name: "two", path: "/api-409b", extra: #", "disabled": true"#))
        XCTAssertEqual(parked.status, 201, parked.body)
        let enable = try http("POST", api + "/drains/\(parked.object["id"] as? String ?? "")/enable", token: a.adminToken)
        XCTAssertEqual(enable.status, 409, enable.body)

        let b = try account()
        let failing = try http("POST", api + "/drains", token: b.adminToken, json: createBody(name: "bad", path: "/status/500/api-422"))
        XCTAssertEqual(failing.status, 422, failing.body)
        XCTAssertEqual(failing.error["code"] as? String, "endpoint_test_failed")
        XCTAssertTrue((failing.error["message"] as? String ?? "").contains("500"), failing.body)
        XCTAssertEqual(try runTool(h, "drain-admin", ["list", b.name, "--json"]).array.count, 0, "nothing saved")
        let ok = try http("POST", api + "/drains", token: b.adminToken, json: createBody(name: "ok", path: "/api-422-ok"))
        let id = ok.object["id"] as? String ?? ""
        let moved = try http("PATCH", api + "/drains/\(id)", token: b.adminToken,
                             json: #"{"url": \#(h.quoted(h.receiverURL + "/status/502/api-422"))}"#)
        XCTAssertEqual(moved.status, 422, moved.body)
        XCTAssertTrue((try h.show(id)["url"] as? String ?? "").hasSuffix("/api-422-ok"), "the URL is unchanged")
        let test = try http("POST", api + "/drains/\(id)/test", token: b.adminToken)
        XCTAssertEqual(test.status, 200)
    }

    func testAMemberReadsButCannotChange() throws {
        let a = try account()
        let id = try h.makeDrain(account: (a.name, a.id, a.admin), path: "/api-member")
        XCTAssertEqual(try http("GET", api + "/drains", token: a.memberToken).array.count, 1)
        XCTAssertEqual(try http("GET", api + "/drains/\(id)", token: a.memberToken).status, 200)
        let writes: [(String, String, String?)] = [
            ("POST", "/drains", createBody(name: "m", path: "/api-member-new")),
            ("PATCH", "/drains/\(id)", #"{"name": "mine now"}"#),
            ("DELETE", "/drains/\(id)", nil),
            ("POST", "/drains/\(id)/disable", nil),
            ("POST", "/drains/\(id)/enable", nil),
            ("POST", "/drains/\(id)/test", nil),
        ]
        for (method, path, body) in writes {
            let r = try http(method, api + path, token: a.memberToken, json: body)
            XCTAssertEqual(r.status, 403, "\(method) \(path): \(r.body)")
            XCTAssertEqual(r.error["code"] as? String, "forbidden")
        }
        let after = try h.show(id)
        XCTAssertEqual(after["name"] as? String, "drain /api-member")
        XCTAssertEqual(after["enabled"] as? Bool, true)
        XCTAssertTrue(h.received("/api-member").isEmpty)
    }

    func testATokenSeesOnlyItsOwnAccount() throws {
        let a = try account(), b = try account()
        let id = try h.makeDrain(account: (a.name, a.id, a.admin), path: "/api-cross")
        XCTAssertEqual(try http("GET", api + "/drains", token: b.adminToken).array.count, 0)
        for (method, path, body) in [("GET", "/drains/\(id)", nil), ("PATCH", "/drains/\(id)", #"{"name": "taken"}"#),
                                     ("DELETE", "/drains/\(id)", nil), ("POST", "/drains/\(id)/disable", nil),
                                     ("POST", "/drains/\(id)/enable", nil), ("POST", "/drains/\(id)/test", nil),
                                     ("GET", "/drains/not-a-uuid", nil), ("GET", "/drains/\(UUID().uuidString.lowercased())", nil)] as [(String, String, String?)] {
            let r = try http(method, api + path, token: b.adminToken, json: body)
            XCTAssertEqual(r.status, 404, "\(method) \(path): \(r.body)")
            XCTAssertEqual(r.error["code"] as? String, "not_found")
        }
        XCTAssertEqual(try h.show(id)["name"] as? String, "drain /api-cross")
        XCTAssertEqual(try h.show(id)["enabled"] as? Bool, true)
    }

    func testOpenAPIDocumentAndSecurityHeaders() throws {
        let r = try http("GET", api + "/openapi.json")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.object["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(r.object["paths"] as? [String: Any])
        XCTAssertEqual(Set(paths.keys), ["/api/v1/drains", "/api/v1/drains/{id}", "/api/v1/drains/{id}/enable",
                                         "/api/v1/drains/{id}/disable", "/api/v1/drains/{id}/test"])
        XCTAssertEqual(r.headers["x-frame-options"], "DENY")
        XCTAssertTrue(r.headers["content-security-policy"]?.contains("default-src 'none'") ?? false)
        let unknown = try http("GET", serve.baseURL + "/no/such/page")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(unknown.headers["x-frame-options"], "DENY", "the router's own answers carry the headers too")
    }

    /// 503 while the database is down, and service again after it returns, without a restart.
    func testDatabaseDownIs503ThenRecovers() throws {
        guard let pgDir = h.env["PG_DIR"], let root = h.env["REPO_ROOT"] else { return XCTFail("PG_DIR and REPO_ROOT come from deploy/test.sh") }
        let a = try account()
        XCTAssertEqual(try http("GET", api + "/drains", token: a.adminToken).status, 200)
        XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["stop", pgDir]), 0)
        var restarted = false
        defer { if !restarted { _ = spawnAndWait("\(root)/deploy/pg.sh", ["restart", pgDir]) } }
        let down = try http("GET", api + "/drains", token: a.adminToken)
        XCTAssertEqual(down.status, 503, down.body)
        XCTAssertEqual(down.error["code"] as? String, "unavailable")
        XCTAssertEqual(spawnAndWait("\(root)/deploy/pg.sh", ["restart", pgDir]), 0)
        restarted = true
        try waitUntil(20, "the API answers again") { (try? http("GET", self.api + "/drains", token: a.adminToken).status) == 200 }
    }

    func testTokenCommandsValidateAndExplain() throws {
        let a = try account()
        let r = try runTool(h, "drain-admin", ["token", "create", a.name, "stranger@else.example"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("not a member"), r.stderr)
        XCTAssertEqual(try runTool(h, "drain-admin", ["token", "create", "no-such-account-x", a.admin]).status, 2)
        XCTAssertEqual(try runTool(h, "drain-admin", ["token", "create", a.name, "not-an-email"]).status, 2)
        let plain = try runTool(h, "drain-admin", ["token", "create", a.name, a.admin])
        XCTAssertEqual(plain.status, 0)
        XCTAssertNotNil(plain.stdout.range(of: #"^ldt_[0-9a-f]{64}\n$"#, options: .regularExpression), "the token alone on stdout: \(plain.stdout)")
        XCTAssertTrue(plain.stderr.contains("shown once"), plain.stderr)
        let bad = try runTool(h, "drain-admin", ["serve", "--listen", "nowhere"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("listen"), bad.stderr)
        let noKeys = try runTool(h, "drain-admin", ["serve", "--listen", "127.0.0.1:0", "--secret-keys-file", "/nonexistent/keys"])
        XCTAssertEqual(noKeys.status, 2, "a server fails at start, not on the first request")
        XCTAssertTrue(noKeys.stderr.contains("secret-keys-file"), noKeys.stderr)
    }

    /// `serve` needs no superuser: an operator login runs it; member and worker logins can
    /// neither make tokens nor read their hashes or the sessions.
    func testServeRunsAsAnOperatorLoginAndTokensStayOutOfReach() throws {
        func login(_ group: String) throws -> (name: String, url: String) {
            let name = "r_" + UUID().uuidString.prefix(8).lowercased()
            try h.connect().execute(script: "create role \(name) login in role \(group)")
            let url = h.databaseURL.replacingOccurrences(of: "://postgres@", with: "://\(name)@")
            XCTAssertNotEqual(url, h.databaseURL, "the test connects as the new login role")
            return (name, url)
        }
        let op = try login("logdrain_operator")
        let a = try h.makeAccount("api")
        let token = try runTool(h, "drain-admin", ["token", "create", a.name, a.admin, "--json"], env: ["DATABASE_URL": op.url])
        XCTAssertEqual(token.status, 0, token.stderr)
        serve.stop()
        serve = try ServeProcess(h, env: ["DATABASE_URL": op.url])
        let created = try http("POST", api + "/drains", token: token.object["token"] as? String,
                               json: createBody(name: "as operator", path: "/api-operator"))
        XCTAssertEqual(created.status, 201, created.body + serve.log)

        for group in ["logdrain_member", "logdrain_worker", "logdrain_producer"] {
            let role = try login(group)
            let r = try runTool(h, "drain-admin", ["token", "create", a.name, a.admin], env: ["DATABASE_URL": role.url])
            XCTAssertEqual(r.status, 2, "\(group): \(r.stderr)")
            let db = try PostgresConnection(conninfo: role.url)
            for sql in ["select * from api_tokens", "select * from dashboard_sessions",
                        "select * from logdrain_token_lookup('000000000000')", "select token_revoke('x', 'y@z.io')"] {
                XCTAssertThrowsError(try db.query(sql), "\(group): \(sql)") {
                    XCTAssertEqual(($0 as? PostgresError)?.sqlState, "42501", "\(group): \(sql): \($0)")
                }
            }
        }
    }
}
