import Foundation
import XCTest

/// `drain-admin serve` as a child process on a free loopback port (the port it prints).
final class ServeProcess: ChildProcess {
    private(set) var baseURL = ""

    init(_ h: Harness, extraArgs: [String] = [], env extraEnv: [String: String] = [:]) throws {
        try super.init(h, tool: "drain-admin",
                       arguments: ["serve", "--listen", "127.0.0.1:0", "--allow-private-endpoints", "--ca-file", h.caFile] + extraArgs,
                       logName: "serve", env: extraEnv)
        try waitUntil(30, "drain-admin serve prints its address") {
            if let r = self.log.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                self.baseURL = String(self.log[r])
                return true
            }
            XCTAssertTrue(self.process.isRunning, "serve exited: \(self.log)")
            return !self.process.isRunning
        }
    }
}

/// One HTTP exchange, made with the curl command-line tool (a real client over loopback).
struct HTTPExchange {
    let status: Int
    let headers: [String: String]
    let body: String

    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    var object: [String: Any] { (json as? [String: Any]) ?? [:] }
    var array: [[String: Any]] { (json as? [[String: Any]]) ?? [] }
    var error: [String: Any] { (object["error"] as? [String: Any]) ?? [:] }
    var errorField: String? { error["field"] as? String }
}

func http(_ method: String, _ url: String, token: String? = nil, json: String? = nil, form: String? = nil,
          headers extra: [String] = [], cookieJar: URL? = nil) throws -> HTTPExchange {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("http-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var args = ["-s", "-S", "--max-time", "30", "-X", method, "-D", dir.appendingPathComponent("h").path,
                "-o", dir.appendingPathComponent("b").path, "-w", "%{http_code}"]
    if let token { args += ["-H", "Authorization: Bearer \(token)"] }
    if let cookieJar { args += ["-b", cookieJar.path, "-c", cookieJar.path] }
    for h in extra { args += ["-H", h] }
    if let body = json ?? form {
        try Data(body.utf8).write(to: dir.appendingPathComponent("in"))
        args += ["-H", json != nil ? "Content-Type: application/json" : "Content-Type: application/x-www-form-urlencoded",
                 "--data-binary", "@" + dir.appendingPathComponent("in").path]
    }
    args.append(url)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let code = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    var headers: [String: String] = [:]
    let raw = (try? String(contentsOf: dir.appendingPathComponent("h"), encoding: .utf8)) ?? ""
    for line in raw.split(separator: "\r\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        headers[name] = headers[name].map { "\($0)\n\(value)" } ?? value
    }
    let body = (try? String(contentsOf: dir.appendingPathComponent("b"), encoding: .utf8)) ?? ""
    return HTTPExchange(status: Int(code) ?? 0, headers: headers, body: body)
}

extension Harness {
    /// A sign-in token for a member, from `drain-admin token create --json`.
    func token(_ account: String, _ email: String) throws -> String {
        let r = try runTool(self, "drain-admin", ["token", "create", account, email, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.object["token"] as? String ?? ""
    }

    /// A JSON string literal.
    func quoted(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes]), as: UTF8.self)
            .dropFirst().dropLast().description
    }
}
