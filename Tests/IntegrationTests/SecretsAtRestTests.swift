import LibCrypto
import Foundation
import Postgres
import XCTest

/// DESIGN §5, secrets at rest: encrypted under keys PostgreSQL never holds, readable by the
/// workers that have them, rotated while workers run.
final class SecretsAtRestTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness.load() }
    override func tearDownWithError() throws { try h?.disableAllDrains() }

    private func tempFile(_ name: String, _ text: String) throws -> String {
        let dir = h.env["LOGDRAIN_TEST_TMP"] ?? NSTemporaryDirectory()
        let path = "\(dir)/\(unique(name))"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func newKey() -> String { Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }

    /// A drain with a secret of its own (not the receiver's), encrypted under `keysFile`.
    private func makeEncryptedDrain(keysFile: String, path: String) throws -> (account: (name: String, id: Int64, admin: String),
                                                                             id: String, secret: String) {
        let a = try h.makeAccount()
        let secret = Hex.encode(SecureRandom.bytes(40))
        let secretFile = try tempFile("secret", secret + "\n")
        let r = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "encrypted", "--url", h.receiverURL + path,
                                              "--secret-file", secretFile, "--skip-test", "--json", "--allow-private-endpoints",
                                              "--secret-keys-file", keysFile])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("unencrypted"), r.stderr)
        return (a, r.object["id"] as? String ?? "", secret)
    }

    private func storedSecret(_ id: String) throws -> String {
        try h.connect().query("select secret from drains where id = $1::uuid", [id]).rows[0].requiredString("secret")
    }

    private func assertSignedWith(_ secret: String, _ posts: [Received], file: StaticString = #filePath, line: UInt = #line) {
        for p in posts {
            XCTAssertEqual(p.headers["x-fal-signature"], HMACSHA256.hex(key: secret, message: Array(p.body)), file: file, line: line)
        }
    }

    func testEncryptedSecretNeverReachesTheDatabaseAndStillSigns() throws {
        let keys = try tempFile("keys", "k1 \(newKey())\n")
        let path = "/ok/\(unique("enc"))"
        let (a, id, secret) = try makeEncryptedDrain(keysFile: keys, path: path)
        let stored = try storedSecret(id)
        XCTAssertTrue(stored.hasPrefix("ldenc:v1:k1:"), stored)
        XCTAssertFalse(stored.contains(secret))
        // Every table but the log rows (which hold no secrets, and millions of lines by now).
        let dump = try runProcess("/usr/bin/pg_dump", ["--data-only", "--exclude-table-data=logs*", h.databaseURL])
        XCTAssertTrue(dump.contains(id), "the dump holds the drain")
        XCTAssertFalse(dump.contains(secret), "pg_dump --data-only shows a plaintext secret")

        try insertLogs(try h.connect(), account: a.id, messages: ["sealed"])
        let w = try WorkerProcess(h, name: unique("enc"), extraArgs: ["--secret-keys-file", keys])
        defer { w.stop() }
        try waitUntil(10, "delivered") { h.received(path).flatMap(\.messages) == ["sealed"] }
        assertSignedWith(secret, h.received(path))
        let test = try runTool(h, "drain-admin", ["test", id, "--secret-keys-file", keys, "--allow-private-endpoints", "--ca-file", h.caFile])
        XCTAssertEqual(test.status, 0, test.stderr)
        assertSignedWith(secret, h.received(path))
    }

    func testWorkerWithoutTheKeyLeavesTheDrainAndCountsNothing() throws {
        let keys = try tempFile("keys", "k-missing \(newKey())\n")
        let path = "/ok/\(unique("nokey"))"
        let (a, id, secret) = try makeEncryptedDrain(keysFile: keys, path: path)
        try insertLogs(try h.connect(), account: a.id, messages: ["waits for the key"])
        let other = try tempFile("keys", "k-other \(newKey())\n")
        let keyless = try WorkerProcess(h, name: unique("keyless"), extraArgs: ["--secret-keys-file", other])
        usleep(2_000_000)
        keyless.stop()
        XCTAssertTrue(h.received(path).isEmpty)
        let row = try h.connect().query("select consecutive_failures, batch_attempts from drains where id = $1::uuid", [id]).rows[0]
        XCTAssertEqual(row.int("consecutive_failures"), 0)
        XCTAssertEqual(row.int("batch_attempts"), 0, "no attempt was made")
        XCTAssertTrue(keyless.log.contains("k-missing"), keyless.log)

        let keyed = try WorkerProcess(h, name: unique("keyed"), extraArgs: ["--secret-keys-file", keys])
        defer { keyed.stop() }
        try waitUntil(10, "delivered by a worker with the key") { h.received(path).flatMap(\.messages) == ["waits for the key"] }
        assertSignedWith(secret, h.received(path))
    }

    func testRotationWhileAWorkerDeliversLosesNothing() throws {
        let old = newKey()
        let before = try tempFile("keys", "k1 \(old)\n")
        let path = "/ok/\(unique("rotate"))"
        let (a, id, secret) = try makeEncryptedDrain(keysFile: before, path: path)
        // The operator's rotation: the new key first, the old one kept, given to the workers.
        let after = try tempFile("keys", "k2 \(newKey())\nk1 \(old)\n")
        let w = try WorkerProcess(h, name: unique("rotate"), extraArgs: ["--secret-keys-file", after])
        defer { w.stop() }
        let db = try h.connect()
        var expected: [String] = []
        for round in 0..<6 {
            let lines = (0..<3).map { "rotate \(round) \($0)" }
            try insertLogs(db, account: a.id, messages: lines)
            expected += lines
            if round == 2 {
                // The test database also holds other tests' drains, some under keys this file
                // lacks: those are reported (exit 1) and left alone; ours is rotated.
                let r = try runTool(h, "drain-admin", ["rotate-secrets", "--secret-keys-file", after])
                XCTAssertTrue((r.stdout + r.stderr).contains("under key k2"), r.stdout + r.stderr)
                XCTAssertFalse(r.stderr.contains(id), "our drain was readable: \(r.stderr)")
            }
            usleep(300_000)
        }
        try waitUntil(15, "every line") { Set(h.received(path).flatMap(\.messages)).count >= expected.count }
        var seen = Set<String>()
        XCTAssertEqual(h.received(path).flatMap(\.messages).filter { seen.insert($0).inserted }, expected)
        assertSignedWith(secret, h.received(path))
        XCTAssertTrue(try storedSecret(id).hasPrefix("ldenc:v1:k2:"))
        XCTAssertEqual((try h.show(id))["consecutive_failures"] as? Int, 0)
        let again = try runTool(h, "drain-admin", ["rotate-secrets", "--secret-keys-file", after])
        XCTAssertTrue((again.stdout + again.stderr).contains("re-encrypted 0 secrets"), again.stdout + again.stderr)
    }

    func testWithoutAKeysFileTheSecretIsStoredAsGivenAndSaidSo() throws {
        let a = try h.makeAccount()
        let r = try runTool(h, "drain-admin", ["create", a.name, "--as", a.admin, "--name", "plain", "--url", h.receiverURL + "/ok/plain",
                                              "--secret-file", h.secretFile, "--skip-test", "--allow-private-endpoints"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("stored unencrypted"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
        let bad = try runTool(h, "drain-admin", ["rotate-secrets"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("secret-keys-file"), bad.stderr)
    }

    func testBadKeysFileIsOneLineExitTwo() throws {
        let keys = try tempFile("keys", "k1 not-base64\n")
        for tool in ["drain-admin", "drain-worker"] {
            let args = tool == "drain-admin" ? ["rotate-secrets", "--secret-keys-file", keys] : ["--secret-keys-file", keys]
            let r = try runTool(h, tool, args)
            XCTAssertEqual(r.status, 2, "\(tool): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("secret-keys-file") && r.stderr.contains("line 1"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }
}

/// Runs a program and returns its standard output.
func runProcess(_ path: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
