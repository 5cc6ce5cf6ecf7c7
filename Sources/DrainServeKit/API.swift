import DrainAdminKit
import DrainCore
import DrainStore
import Hummingbird

/// The JSON API under /api/v1 (DESIGN §6). Every call authenticates its bearer token, sees only
/// the token's account, and goes through the same `Admin` operations (and so the same SQL
/// functions, checks and audit) as the CLI, acting as the token's member.
struct API: Sendable {
    let pool: AdminPool
    static let maxBody = 64 * 1024

    func register(on router: Router<BasicRequestContext>) {
        let api = router.group("api/v1")
        api.get("openapi.json") { _, _ in
            Self.respond(.ok, OpenAPIDocument.json)
        }
        api.get("drains") { request, _ in
            await handle(request) { member, _ in
                let all = try await pool.read { try $0.drains(account: member.account) }
                return (.ok, JSONOutput.array(all.map { $0.json() }))
            }
        }
        api.post("drains") { request, _ in
            await handle(request, writes: true) { member, body in
                let fields = try JSONObjectBody(body, allowed: ["name", "url", "secret", "generate_secret", "sampling_rate", "skip_test", "disabled"])
                let secret = try Self.secretSource(fields)
                let create = CreateRequest(
                    account: member.account, actor: member.email, name: try fields.requiredString("name"),
                    url: try fields.requiredString("url"), secret: secret,
                    samplingRate: try fields.int("sampling_rate") ?? Limits.defaultSamplingRate,
                    skipTest: try fields.bool("skip_test") ?? false, disabled: try fields.bool("disabled") ?? false)
                let created = try await pool.run { try $0.createDrain(create) }
                return (.created, created.drain.json(secret: created.generatedSecret))
            }
        }
        api.get("drains/:id") { request, context in
            await handle(request) { member, _ in
                let id = try context.parameters.require("id")
                return (.ok, try await pool.read { try Self.owned(id, by: member, $0) }.json())
            }
        }
        api.patch("drains/:id") { request, context in
            await handle(request, writes: true) { member, body in
                let id = try context.parameters.require("id")
                let fields = try JSONObjectBody(body, allowed: ["name", "url", "sampling_rate", "secret", "skip_test"])
                let change = DrainChange(name: try fields.string("name"), url: try fields.string("url"),
                                         samplingRate: try fields.int("sampling_rate"))
                let secret = try fields.string("secret").map { SecretSource.given($0) }
                let skipTest = try fields.bool("skip_test") ?? false
                if change.isEmpty && secret == nil {
                    throw APIError.invalid("body: nothing to change: give name, url, sampling_rate or secret", field: nil)
                }
                let drain = try await pool.run { admin in
                    try Self.changed(id, by: member, admin) {
                        _ = try $0.changeDrain(id: id, actor: member.email, change: change, secret: secret, skipTest: skipTest)
                    }
                }
                return (.ok, drain.json())
            }
        }
        api.delete("drains/:id") { request, context in
            await handle(request, writes: true) { member, _ in
                let id = try context.parameters.require("id")
                _ = try await pool.run { admin in
                    try Self.change(id, by: member, admin) { try $0.deleteDrain(id: id, actor: member.email) }
                }
                return (.noContent, nil)
            }
        }
        api.post("drains/:id/enable") { request, context in
            await handle(request, writes: true) { member, body in
                let id = try context.parameters.require("id")
                let skipBacklog = try JSONObjectBody(body, allowed: ["skip_backlog"]).bool("skip_backlog") ?? false
                return (.ok, try await pool.run { admin in
                    try Self.changed(id, by: member, admin) { try $0.enableDrain(id: id, actor: member.email, skipBacklog: skipBacklog) }
                }.json())
            }
        }
        api.post("drains/:id/disable") { request, context in
            await handle(request, writes: true) { member, body in
                let id = try context.parameters.require("id")
                _ = try JSONObjectBody(body, allowed: [])
                return (.ok, try await pool.run { admin in
                    try Self.changed(id, by: member, admin) { try $0.disableDrain(id: id, actor: member.email) }
                }.json())
            }
        }
        api.post("drains/:id/test") { request, context in
            await handle(request, writes: true) { member, body in
                let id = try context.parameters.require("id")
                _ = try JSONObjectBody(body, allowed: [])
                let summary = try await pool.run { admin in
                    _ = try Self.owned(id, by: member, admin)
                    return try admin.test(drainID: id, url: nil, secret: nil)
                }
                return (.ok, .object([("ok", .bool(true)), ("message", .string(summary))]))
            }
        }
    }

    /// Authenticates, reads the body, runs `body` and turns every failure into the §6 error shape.
    /// `writes`: only an account admin may call it (403 for a member), checked before any input.
    private func handle(_ request: Request, writes: Bool = false,
                        _ body: @Sendable (SignedInMember, String) async throws -> (HTTPResponse.Status, JSONOutput?)) async -> Response {
        do {
            let member = try await authenticate(request)
            if writes && !member.isAdmin { throw APIError.readOnly }
            var request = request
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: Self.maxBody) } catch {
                throw APIError(.contentTooLarge, "too_large", "body: larger than \(Self.maxBody) bytes")
            }
            let (status, value) = try await body(member, String(buffer: buffer))
            return Self.respond(status, value?.render())
        } catch {
            let e = APIError.from(error)
            var response = Self.respond(e.status, e.body)
            if e.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
            return response
        }
    }

    private func authenticate(_ request: Request) async throws -> SignedInMember {
        guard let token = Self.bearerToken(request) else { throw APIError.unauthorized }
        guard let member = try await pool.read({ try $0.authenticate(token: token) }) else { throw APIError.unauthorized }
        return member
    }

    /// The drain, if it is this member's account's; otherwise 404, exactly as for no drain at all.
    static func owned(_ id: String, by member: SignedInMember, _ admin: Admin) throws -> DrainStatus {
        guard let drain = try admin.drain(id: id), drain.account == member.account else { throw APIError.notFound(id) }
        return drain
    }

    /// The token of an `Authorization: Bearer` header, if the request has one.
    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// Runs `body` on a drain of the member's account (404 for any other drain, before anything
    /// is done).
    static func change(_ id: String, by member: SignedInMember, _ admin: Admin, _ body: (Admin) throws -> Void) throws {
        _ = try owned(id, by: member, admin)
        try body(admin)
    }

    /// `change`, then the drain as it is afterwards, for the answers that return it.
    static func changed(_ id: String, by member: SignedInMember, _ admin: Admin, _ body: (Admin) throws -> Void) throws -> DrainStatus {
        let before = try owned(id, by: member, admin)
        try body(admin)
        return try admin.drain(id: id) ?? before
    }

    static func secretSource(_ fields: JSONObjectBody) throws(APIError) -> SecretSource {
        let secret = try fields.string("secret")
        let generate = try fields.bool("generate_secret") ?? false
        switch (secret, generate) {
        case (let s?, false): return .given(s)
        case (nil, true): return .generate
        case (nil, false): throw .invalid("secret: required: give \"secret\" or \"generate_secret\": true", field: "secret")
        case (_?, true): throw .invalid("secret: give \"secret\" or \"generate_secret\": true, not both", field: "secret")
        }
    }

    static func respond(_ status: HTTPResponse.Status, _ json: String?) -> Response {
        guard let json else { return Response(status: status) }
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: json + "\n")))
    }
}
