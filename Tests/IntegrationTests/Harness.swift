import Foundation
import Synchronization
import Postgres
import XCTest

/// What deploy/test.sh provides: a private PostgreSQL, the built executables, and a local HTTPS
/// receiver. Without them the integration tests fail under CI=true and skip (loudly) otherwise.
struct Harness {
    let databaseURL: String
    let binDir: String
    let receiverURL: String
    let receiverLog: String
    let caFile: String
    let secretFile: String
    let secret: String
    let env: [String: String]

    static func load() throws -> Harness {
        // A child that exits before reading all its input must not kill the test run.
        signal(SIGPIPE, SIG_IGN)
        let env = ProcessInfo.processInfo.environment
        let needed = ["DATABASE_URL", "DRAIN_BIN_DIR", "RECEIVER_URL", "RECEIVER_LOG", "DRAIN_CA_FILE", "RECEIVER_SECRET_FILE"]
        let missing = needed.filter { (env[$0] ?? "").isEmpty }
        if !missing.isEmpty {
            let why = "integration tests need \(missing.joined(separator: ", ")): run them through deploy/test.sh"
            if env["CI"] == "true" { XCTFail(why); throw XCTSkip(why) }
            throw XCTSkip(why)
        }
        var secret = try String(contentsOfFile: env["RECEIVER_SECRET_FILE"]!, encoding: .utf8)
        if secret.hasSuffix("\n") { secret.removeLast() }
        let h = Harness(databaseURL: env["DATABASE_URL"]!, binDir: env["DRAIN_BIN_DIR"]!, receiverURL: env["RECEIVER_URL"]!,
                        receiverLog: env["RECEIVER_LOG"]!, caFile: env["DRAIN_CA_FILE"]!,
                        secretFile: env["RECEIVER_SECRET_FILE"]!, secret: secret, env: env)
        try h.migrateOnce()
        return h
    }

    private static let migrated = Mutex(false)

    /// The schema, applied by the product's own `drain-admin migrate`, once per test run.
    private func migrateOnce() throws {
        try Harness.migrated.withLock { done in
            guard !done else { return }
            let r = try runTool(self, "drain-admin", ["migrate"])
            guard r.status == 0 else { throw XCTSkip("drain-admin migrate failed: \(r.stderr)") }
            done = true
        }
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(conninfo: databaseURL) }
}

struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String

    var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed]) }
    var object: [String: Any] { (json as? [String: Any]) ?? [:] }
    var array: [[String: Any]] { (json as? [[String: Any]]) ?? [] }
}

/// Runs a built executable to completion.
@discardableResult
func runTool(_ h: Harness, _ tool: String, _ args: [String], stdin: String? = nil, env extra: [String: String] = [:]) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "\(h.binDir)/\(tool)")
    p.arguments = args
    var env = h.env
    env["DATABASE_URL"] = h.databaseURL
    env.removeValue(forKey: "DRAIN_ALLOW_PRIVATE_ENDPOINTS")
    for (k, v) in extra { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    // Feed stdin from its own thread: the child may exit early (a refused line) and stop reading.
    let writer = input.fileHandleForWriting
    let feeding = DispatchGroup()
    feeding.enter()
    Thread.detachNewThread {
        if let stdin { try? writer.write(contentsOf: Data(stdin.utf8)) }
        try? writer.close()
        feeding.leave()
    }
    // Read both pipes fully before waiting, so a large output cannot block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    feeding.wait()
    return CommandResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// A built executable running beside the test, its output in a log file; stopped with SIGTERM
/// (or SIGKILL) by the test, and killed if the test forgets.
class ChildProcess {
    let process = Process()
    let logFile: URL

    /// `env` applies last; DATABASE_URL is the test cluster's unless it names another.
    init(_ h: Harness, tool: String, arguments: [String], logName: String, env extraEnv: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: "\(h.binDir)/\(tool)")
        process.arguments = arguments
        var env = h.env
        env["DATABASE_URL"] = h.databaseURL
        env.removeValue(forKey: "DRAIN_ALLOW_PRIVATE_ENDPOINTS")
        for (k, v) in extraEnv { env[k] = v }
        process.environment = env
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(logName)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop(timeout: Double = 20) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// A drain-worker with the tests' short intervals and backoff.
final class WorkerProcess: ChildProcess {
    init(_ h: Harness, name: String, extraArgs: [String] = [], allowPrivate: Bool = true,
         env extraEnv: [String: String] = [:]) throws {
        var env: [String: String] = [:]
        // deploy/test.sh runs the delivery and cluster tests a second time with every worker
        // behind pgbouncer in transaction pooling mode.
        if let pooled = h.env["LOGDRAIN_WORKER_DATABASE_URL"], !pooled.isEmpty {
            env["DATABASE_URL"] = pooled
            env["DRAIN_TRANSACTION_POOLING"] = "1"
        }
        for (k, v) in extraEnv { env[k] = v }
        try super.init(h, tool: "drain-worker",
                       arguments: ["--name", name] + (allowPrivate ? ["--allow-private-endpoints"] : [])
                           + ["--ca-file", h.caFile, "--interval", "0.2", "--backoff-base", "0.05", "--backoff-max", "0.2"] + extraArgs,
                       logName: "worker-\(name)", env: env)
    }
}

/// One request the receiver logged (deploy/receiver.py --log).
struct Received {
    let time: Double
    let path: String
    let headers: [String: String]
    let body: Data
    let signatureValid: Bool
    let status: Int

    var lines: [String] {
        String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
    var messages: [String] {
        lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }.compactMap { $0["message"] as? String }
    }
}

extension Harness {
    /// Requests the receiver logged whose path starts with `prefix`, oldest first.
    func received(_ prefix: String) -> [Received] {
        guard let log = FileManager.default.contents(atPath: receiverLog) else { return [] }
        // The log holds every test's bodies (tens of megabytes): find line ends with memchr and
        // parse only lines whose path (written near the start of each line) matches.
        let needle = "\"path\": \"\(prefix)"
        let bytes = [UInt8](log)
        var lines: [Data] = []
        var offset = 0
        while offset < bytes.count {
            let end = lineEnd(bytes, from: offset)
            let head = String(decoding: bytes[offset..<min(end, offset + 300)], as: UTF8.self)
            if head.contains(needle) { lines.append(Data(bytes[offset..<end])) }
            offset = end + 1
        }
        return lines.compactMap { line -> Received? in
            guard let o = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
                  let path = o["path"] as? String, path.hasPrefix(prefix) else { return nil }
            return Received(time: o["time"] as? Double ?? 0, path: path, headers: o["headers"] as? [String: String] ?? [:],
                            body: Data(base64Encoded: o["body_b64"] as? String ?? "") ?? Data(),
                            signatureValid: o["signature_valid"] as? Bool ?? false, status: o["status"] as? Int ?? 0)
        }
    }

    /// A fresh account with an admin, so tests never share state.
    func makeAccount(_ prefix: String = "t") throws -> (name: String, id: Int64, admin: String) {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try runTool(self, "drain-admin", ["account", "create", name, "--json"])
        XCTAssertEqual(created.status, 0, created.stderr)
        let admin = "admin@\(name).example"
        let added = try runTool(self, "drain-admin", ["member", "add", name, admin, "--role", "admin"])
        XCTAssertEqual(added.status, 0, added.stderr)
        return (name, (created.object["id"] as? NSNumber)?.int64Value ?? 0, admin)
    }

    /// Creates a drain at `path` on the receiver with the receiver's secret; returns its id.
    func makeDrain(account: (name: String, id: Int64, admin: String), path: String, rate: Int = 1000,
                   extra: [String] = []) throws -> String {
        let r = try runTool(self, "drain-admin", ["create", account.name, "--as", account.admin, "--name", "drain \(path)",
                                              "--url", receiverURL + path, "--secret-file", secretFile,
                                              "--sampling-rate", String(rate), "--skip-test", "--json",
                                              "--allow-private-endpoints", "--ca-file", caFile] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.object["id"] as? String ?? ""
    }

    func disableAllDrains() throws {
        try connect().query("update drains set enabled = false, disabled_reason = 'manual' where enabled")
    }

    func show(_ drainID: String) throws -> [String: Any] {
        try runTool(self, "drain-admin", ["show", drainID, "--json"]).object
    }
}

/// The index of the next newline at or after `from` (or the end), found with memchr: the
/// receiver log is tens of megabytes and a debug build's byte loop is slow.
private func lineEnd(_ bytes: [UInt8], from: Int) -> Int {
    bytes.withUnsafeBufferPointer { buffer -> Int in
        guard let base = buffer.baseAddress,
              let hit = memchr(base + from, 0x0A, buffer.count - from) else { return buffer.count }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }
}

/// Inserts log rows directly, as a producer would.
func insertLogs(_ db: PostgresConnection, account: Int64, messages: [String], ts: String? = nil) throws {
    try db.query("""
        insert into logs (account_id, ts, message, level)
        select $1::bigint, coalesce($3::timestamptz, now()), m, 'info'
        from unnest($2::text[]) with ordinality as t(m, n) order by n
        """, [account, PostgresArray(messages), ts])
}

/// Polls `condition` until it holds or `timeout` passes.
func waitUntil(_ timeout: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line,
               _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    XCTFail("timed out after \(timeout)s waiting for: \(what)", file: file, line: line)
}

/// Runs `body(0..<n)` on n threads at once (real concurrency, not limited to the core count)
/// and returns the results in index order.
func concurrently<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let results = Mutex<[Int: T]>([:])
    let done = DispatchGroup()
    for i in 0..<n {
        done.enter()
        Thread.detachNewThread {
            let r = body(i)
            results.withLock { $0[i] = r }
            done.leave()
        }
    }
    done.wait()
    return results.withLock { d in (0..<n).map { d[$0]! } }
}

/// Runs a program that leaves a daemon behind (pg.sh restart) and waits for the program
/// itself with waitpid: Foundation's Process can miss the exit when a grandchild lives on.
func spawnAndWait(_ path: String, _ args: [String]) -> Int32 {
    var pid: pid_t = 0
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([path] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status >> 8) & 0xFF
}

/// A name no other test uses: `prefix-xxxxxxxx`.
func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }
