import Foundation
import XCTest
import Postgres

final class AdminTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }

    private func drainCount(_ account: Int64) throws -> Int {
        try h.connect().query("select count(*) as n from drains where account_id = $1::bigint", [account]).rows[0].int("n") ?? -1
    }

    private func create(_ a: (name: String, id: Int64, admin: String), _ args: [String], actor: String? = nil,
                        url: String? = nil, env: [String: String] = [:]) throws -> CommandResult {
        try runTool(h, "drain-admin", ["create", a.name, "--as", actor ?? a.admin, "--name", "n",
                                   "--url", url ?? h.receiverURL + "/ok/admin", "--allow-private-endpoints", "--ca-file", h.caFile] + args, env: env)
    }

    func testValidationRefusalsNameTheFieldAndWriteNothing() throws {
        let a = try h.makeAccount()
        let shortSecret = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString)")
        try "too-short\n".write(to: shortSecret, atomically: true, encoding: .utf8)
        let cases: [([String], String?, String)] = [
            (["--secret-file", h.secretFile], "http://insecure.example/x", "url:"),
            (["--secret-file", h.secretFile], "https://", "url:"),
            (["--secret-file", shortSecret.path], nil, "secret:"),
            (["--secret-file", h.secretFile, "--sampling-rate", "0"], nil, "sampling-rate:"),
            (["--secret-file", h.secretFile, "--sampling-rate", "5001"], nil, "sampling-rate:"),
            (["--secret-file", "/nonexistent/secret"], nil, "secret-file:"),
            (["--secret-env", "LOGDRAIN_UNSET_VAR"], nil, "secret-env:"),
            ([], nil, "secret:"),
            (["--secret-file", h.secretFile, "--generate-secret"], nil, "secret:"),
        ]
        for (args, url, field) in cases {
            let r = try create(a, args, url: url)
            XCTAssertEqual(r.status, 2, "\(args) \(url ?? "")")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(field), "\(r.stderr) should name \(field)")
        }
        let longName = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", String(repeating: "x", count: 101),
                                                  "--url", h.receiverURL + "/ok/x", "--secret-file", h.secretFile, "--skip-test"])
        XCTAssertTrue(longName.stderr.contains("name:"), longName.stderr)
        XCTAssertEqual(try drainCount(a.id), 0)
        XCTAssertTrue(h.received("/ok/admin").isEmpty, "refused input sends no test line")
    }

    func testRoleIsCheckedByCLIAndBySQL() throws {
        let a = try h.makeAccount()
        XCTAssertEqual(try runTool(h, "drain-admin", ["member", "add", a.name, "dev@\(a.name).example", "--role", "member"]).status, 0)
        let path = "/ok/role-\(UUID().uuidString)"
        let r = try create(a, ["--secret-file", h.secretFile], actor: "dev@\(a.name).example", url: h.receiverURL + path)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("permission denied: dev@\(a.name).example is not an admin of account \(a.name)"), r.stderr)
        XCTAssertTrue(h.received(path).isEmpty, "a refused create sends no test line")
        let stranger = try create(a, ["--secret-file", h.secretFile, "--skip-test"], actor: "someone@else.example")
        XCTAssertTrue(stranger.stderr.contains("permission denied"), stranger.stderr)

        let db = try h.connect()
        XCTAssertThrowsError(try db.query("select drain_create($1, $2, 'n', 'https://x.example/', repeat('s', 64))",
                                          [a.name, "dev@\(a.name).example"])) { e in
            XCTAssertEqual((e as? PostgresError)?.sqlState, "42501")
        }
        // The same function succeeds for an admin, from plain SQL.
        let id = try db.query("select drain_create($1, $2, 'via sql', 'https://x.example/', repeat('s', 64)) as id",
                              [a.name, a.admin]).rows[0].requiredString("id")
        XCTAssertThrowsError(try db.query("select drain_disable($1::uuid, $2)", [id, "dev@\(a.name).example"]))
        XCTAssertThrowsError(try db.query("select drain_update($1::uuid, $2, p_secret => 'short')", [id, a.admin])) { e in
            XCTAssertEqual((e as? PostgresError)?.sqlState, "22023")
            XCTAssertTrue((e as? PostgresError)?.message.hasPrefix("secret:") ?? false)
        }
        XCTAssertEqual(try drainCount(a.id), 1)
        for cmd in [["disable", id], ["enable", id], ["delete", id]] {
            let refused = try runTool(h, "drain-admin", cmd + ["--as", "dev@\(a.name).example"])
            XCTAssertEqual(refused.status, 2, cmd.joined(separator: " "))
            XCTAssertTrue(refused.stderr.contains("permission denied"), refused.stderr)
        }
        XCTAssertEqual(try drainCount(a.id), 1)
    }

    func testOneEnabledDrainUnderConcurrentCreates() throws {
        let a = try h.makeAccount()
        let h = self.h!
        let results = concurrently(5) { i -> (Int32, String) in
            let r = try? runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "c\(i)",
                                                    "--url", "https://c\(i).example/in", "--secret-file", h.secretFile, "--skip-test"])
            return (r?.status ?? -1, r?.stderr ?? "")
        }
        XCTAssertEqual(results.filter { $0.0 == 0 }.count, 1)
        XCTAssertEqual(results.filter { $0.0 == 2 }.count, 4)
        for (status, stderr) in results where status != 0 {
            XCTAssertTrue(stderr.contains("only one drain per account can be enabled"), stderr)
        }
        let db = try h.connect()
        XCTAssertEqual(try db.query("select count(*) as n from drains where account_id = $1::bigint and enabled", [a.id]).rows[0].int("n"), 1)
        // A disabled second drain may exist; enabling it is refused, naming the enabled one.
        let second = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "second", "--url", "https://second.example/",
                                                "--secret-file", h.secretFile, "--skip-test", "--disabled", "--json"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.object["disabled_reason"] as? String, "manual")
        XCTAssertEqual(second.object["enabled"] as? Bool, false)
        let active = try db.query("select id from drains where account_id = $1::bigint and enabled", [a.id]).rows[0].requiredString("id")
        let refused = try runTool(h, "drain-admin", ["enable", second.object["id"] as! String, "--as", a.admin])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains(active), refused.stderr)
    }

    func testSecretsAreNeverShownAndURLsAreRedacted() throws {
        let a = try h.makeAccount()
        let url = h.receiverURL + "/ok/redact/abcdef0123456789abcdef?api_key=SUPERSECRETKEY&tag=x"
        let r = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "r", "--url", url, "--generate-secret",
                                           "--allow-private-endpoints", "--ca-file", h.caFile, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let secret = r.object["secret"] as? String ?? ""
        XCTAssertGreaterThanOrEqual(secret.count, 64)
        let id = r.object["id"] as! String
        XCTAssertEqual(r.object["url"] as? String, h.receiverURL + "/ok/redact/***?api_key=***&tag=***")
        // The test line was signed with the generated secret.
        let sent = h.received("/ok/redact/")
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent.first?.headers["x-fal-signature"], hmacHex(secret, sent.first?.body ?? Data()))
        XCTAssertEqual(try drainStateFlags(id).lastSuccess, nil, "a test line changes no drain state")

        var outputs: [String] = []
        for args in [["show", id], ["show", id, "--json"], ["list", a.name], ["list", "--json"], ["audit", a.name], ["audit", a.name, "--json"]] {
            let o = try runTool(h, "drain-admin", args)
            XCTAssertEqual(o.status, 0, o.stderr)
            outputs.append(o.stdout + o.stderr)
        }
        let update = try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--generate-secret", "--name", "renamed"])
        XCTAssertEqual(update.status, 0, update.stderr)
        let newSecret = update.stdout.split(separator: " ").last.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        XCTAssertGreaterThanOrEqual(newSecret.count, 64)
        outputs.append(try runTool(h, "drain-admin", ["audit", a.name, "--json"]).stdout)
        for o in outputs {
            XCTAssertFalse(o.contains(secret), "secret leaked: \(o)")
            XCTAssertFalse(o.contains(newSecret), "new secret leaked")
            XCTAssertFalse(o.contains("SUPERSECRETKEY"), "query value leaked: \(o)")
            XCTAssertFalse(o.contains("abcdef0123456789abcdef"), "path token leaked")
        }
    }

    private func drainStateFlags(_ id: String) throws -> (lastSuccess: String?, failures: Int) {
        let s = try h.show(id)
        return (s["last_success_at"] as? String, s["consecutive_failures"] as? Int ?? -1)
    }

    func testTestBeforeSave() throws {
        let a = try h.makeAccount()
        // 500: nothing saved, exit 1, the status is reported.
        let failing = try create(a, ["--secret-file", h.secretFile], url: h.receiverURL + "/status/500/tbs")
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.stderr.contains("HTTP 500"), failing.stderr)
        // Unreachable port.
        let unreachable = try create(a, ["--secret-file", h.secretFile], url: "https://127.0.0.1:1/x")
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertTrue(unreachable.stderr.contains("connect"), unreachable.stderr)
        // TLS failure: the receiver's CA is not trusted without --ca-file.
        let tls = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "n", "--url", h.receiverURL + "/ok/tls",
                                             "--secret-file", h.secretFile, "--allow-private-endpoints"], env: ["DRAIN_CA_FILE": ""])
        XCTAssertEqual(tls.status, 1)
        XCTAssertTrue(tls.stderr.contains("tls"), tls.stderr)
        // A private endpoint without the flag is refused before anything is sent.
        let priv = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "n", "--url", h.receiverURL + "/ok/private",
                                              "--secret-file", h.secretFile, "--ca-file", h.caFile])
        XCTAssertEqual(priv.status, 2)
        XCTAssertTrue(priv.stderr.contains("loopback"), priv.stderr)
        XCTAssertTrue(h.received("/ok/private").isEmpty)
        XCTAssertEqual(try drainCount(a.id), 0)
        // 2xx: saved, and the test line is a real signed wire-format line.
        let path = "/ok/tbs-\(UUID().uuidString)"
        let ok = try create(a, ["--secret-file", h.secretFile], url: h.receiverURL + path)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("HTTP 200"), ok.stdout)
        XCTAssertEqual(try drainCount(a.id), 1)
        let sent = try XCTUnwrap(h.received(path).first)
        XCTAssertTrue(sent.signatureValid)
        XCTAssertEqual(sent.headers["content-type"], "application/x-ndjson")
        XCTAssertEqual(sent.headers["x-fal-delivery-attempt"], "1")
        let line = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(sent.lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(line["level"] as? String, "info")
        XCTAssertTrue((line["message"] as? String ?? "").contains("test"))

        // update --url tests the new URL and keeps the old one on failure.
        let id = try XCTUnwrap(try runTool(h, "drain-admin", ["list", a.name, "--json"]).array.first?["id"] as? String)
        let urlBefore = try h.show(id)["url"] as? String
        let bad = try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--url", h.receiverURL + "/status/503/upd",
                                             "--allow-private-endpoints", "--ca-file", h.caFile])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual((try h.show(id))["url"] as? String, urlBefore, "a failed test leaves the URL as it was")
        let good = try runTool(h, "drain-admin", ["update", id, "--as", a.admin, "--url", h.receiverURL + "/ok/updated",
                                              "--allow-private-endpoints", "--ca-file", h.caFile])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertEqual((try h.show(id))["url"] as? String, h.receiverURL + "/ok/updated")

        // test DRAIN_ID and test --url.
        let t = try runTool(h, "drain-admin", ["test", id, "--allow-private-endpoints", "--ca-file", h.caFile])
        XCTAssertEqual(t.status, 0, t.stderr)
        let t2 = try runTool(h, "drain-admin", ["test", "--url", h.receiverURL + "/status/404/t", "--secret-env", "S",
                                            "--allow-private-endpoints", "--ca-file", h.caFile], env: ["S": h.secret])
        XCTAssertEqual(t2.status, 1)
        XCTAssertTrue(t2.stderr.contains("HTTP 404"), t2.stderr)
    }

    func testAuditRecordsEveryMutation() throws {
        let a = try h.makeAccount()
        let id = try h.makeDrain(account: a, path: "/ok/audit")
        for args in [["update", id, "--sampling-rate", "10"], ["disable", id], ["enable", id], ["enable", id, "--skip-backlog"], ["delete", id]] {
            let r = try runTool(h, "drain-admin", args + ["--as", a.admin])
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        }
        let events = try runTool(h, "drain-admin", ["audit", a.name, "--json"]).array
        let actions = events.map { $0["action"] as? String ?? "" }
        XCTAssertEqual(actions, ["account.create", "member.add", "drain.create", "drain.update", "drain.disable",
                                 "drain.enable", "drain.enable.skip-backlog", "drain.delete"])
        let update = events[3]
        XCTAssertEqual(update["actor"] as? String, a.admin)
        XCTAssertEqual((update["before"] as? [String: Any])?["sampling_rate"] as? Int, 1000)
        XCTAssertEqual((update["after"] as? [String: Any])?["sampling_rate"] as? Int, 10)
        XCTAssertEqual((events[4]["after"] as? [String: Any])?["disabled_reason"] as? String, "manual")
    }

    func testUnknownDrainAndBadID() throws {
        let a = try h.makeAccount()
        let missing = try runTool(h, "drain-admin", ["show", UUID().uuidString.lowercased()])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no drain with id"), missing.stderr)
        let bad = try runTool(h, "drain-admin", ["disable", "not-a-uuid", "--as", a.admin])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("drain:"), bad.stderr)
        let usage = try runTool(h, "drain-admin", ["create", a.name])
        XCTAssertNotEqual(usage.status, 0)
        XCTAssertEqual(usage.stderr.split(separator: "\n").count, 1, usage.stderr)
    }

    func testSecretFileTrailingNewlineIsNotPartOfSecret() throws {
        let a = try h.makeAccount()
        let secret = String(repeating: "n", count: 70)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("s-\(UUID().uuidString)")
        try (secret + "\n").write(to: file, atomically: true, encoding: .utf8)
        let path = "/ok/newline-\(UUID().uuidString)"
        let r = try runTool(h, "drain-admin", ["test", "--url", h.receiverURL + path, "--secret-file", file.path,
                                           "--allow-private-endpoints", "--ca-file", h.caFile])
        XCTAssertEqual(r.status, 0, r.stderr)
        let sent = try XCTUnwrap(h.received(path).first)
        XCTAssertEqual(sent.headers["x-fal-signature"], hmacHex(secret, sent.body))
        _ = a
    }

    func testWorkersListsLiveWorkers() throws {
        let w = try WorkerProcess(h, name: "listed-\(UUID().uuidString.prefix(6))")
        defer { w.stop() }
        try waitUntil(10, "worker registered") {
            try runTool(h, "drain-admin", ["workers", "--json"]).array.contains { ($0["name"] as? String) == w.process.arguments![1] }
        }
        let entry = try runTool(h, "drain-admin", ["workers", "--json"]).array.first { ($0["name"] as? String) == w.process.arguments![1] }
        XCTAssertEqual(entry?["pid"] as? Int, Int(w.process.processIdentifier))
        for key in ["host", "started_at", "heartbeat_at", "in_flight"] { XCTAssertNotNil(entry?[key], key) }
        XCTAssertEqual(w.stop(), 0)
        XCTAssertFalse(try runTool(h, "drain-admin", ["workers", "--json"]).array.contains { ($0["name"] as? String) == w.process.arguments![1] })
    }
}

/// HMAC-SHA256 computed the way the seed's verify_signature does, via Python.
func hmacHex(_ secret: String, _ body: Data) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", secret]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try? p.run()
    input.fileHandleForWriting.write(body)
    try? input.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
