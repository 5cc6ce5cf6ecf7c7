import DrainAdminKit
import DrainCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `drain-admin serve`: the dashboard at `/` and the JSON API under `/api/v1`, on Hummingbird.
public enum DrainServer {
    /// Parses `HOST:PORT` (`[::1]:8080` for IPv6). Throws a message naming `listen`.
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        let host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw AdminError("listen: must be HOST:PORT (got \(text))") }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw AdminError("listen: must be HOST:PORT (got \(text))") }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let p = Int(port), (0...65535).contains(p) else {
            throw AdminError("listen: must be HOST:PORT with a port of 0-65535 (got \(text))")
        }
        return (String(host), p)
    }

    /// Serves until SIGTERM or SIGINT. `ready` is called with the bound port (useful with port 0).
    public static func run(environment: AdminEnvironment, listen: String, connections: Int = 4,
                           ready: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let (host, port) = try parseListen(listen)
        var environment = environment
        // A lock held on drains (or a stuck statement) must answer 503, not hold a connection forever.
        environment.sessionSetup = "set statement_timeout = '15s'; set lock_timeout = '5s'"
        // Fail fast, with the one-line error, when the database or the schema (007_tokens) is not
        // there, or this session may not look tokens up (not an operator session).
        let probe = Admin(environment: environment)
        _ = try probe.authenticate(token: SignInToken.prefix + String(repeating: "0", count: 64))
        try probe.checkSecretKeys()
        if environment.secretKeysFile == nil {
            FileHandle.standardError.write(Data("drain-admin: note: no secret keys file (--secret-keys-file or DRAIN_SECRET_KEYS_FILE): secrets saved through the dashboard and API are stored unencrypted\n".utf8))
        }

        let pool = AdminPool(size: connections) { Admin(environment: environment) }
        let router = Router()
        router.add(middleware: SecurityHeaders())
        API(pool: pool).register(on: router)
        try Dashboard(pool: pool).register(on: router)

        var logger = Logger(label: "drain-admin.serve")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { channel in ready(channel.localAddress?.port ?? port) },
                              logger: logger)
        try await app.runService()
    }
}

/// Headers on every answer: no framing, no sniffing, no referrer, and a CSP that allows only
/// this server's stylesheet (no script at all).
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Hummingbird's own answers (no such route, method not allowed) get the headers too.
            response = try error.response(from: request, context: context)
        }
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return response
    }
}
