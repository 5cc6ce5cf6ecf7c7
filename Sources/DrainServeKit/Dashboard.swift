import DrainAdminKit
import DrainCore
import DrainStore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The server-rendered dashboard (DESIGN §6): sign in with a token, then the account's drains,
/// the create/edit form with Test and Save, and Enable, Disable, Edit and Delete. Works without
/// JavaScript; every form carries the session's CSRF token; refusals are said in words.
struct Dashboard: Sendable {
    let pool: AdminPool
    let library: MustacheLibrary

    static let sessionCookie = "logdrain_session"
    static let signInCookie = "logdrain_signin"

    init(pool: AdminPool) throws {
        self.pool = pool
        self.library = try Templates.library()
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("static/style.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: Templates.stylesheet)))
        }
        router.get("/") { request, _ in
            await page(request) { session in
                guard let session else { return signInPage(request) }
                let query = request.uri.queryParameters
                let done = query["done"].flatMap { Self.doneMessages[String($0)] }
                if let edit = query["edit"].map(String.init) {
                    return try await drainsPage(session, notice: done, form: try await editForm(edit, session))
                }
                return try await drainsPage(session, notice: done, form: .blank)
            }
        }
        router.post("signin") { request, _ in
            await page(request) { _ in
                if Self.isCrossSite(request) { return signInPage(request, error: "Please sign in from this page.", status: .forbidden) }
                let form = try await Self.form(request)
                guard let cookie = request.cookies[Self.signInCookie]?.value, let csrf = form["csrf"], !csrf.isEmpty,
                      Credential.matches(cookie, csrf) else {
                    return signInPage(request, error: "Your sign-in form expired. Please try again.", status: .forbidden)
                }
                let token = form.text("token") ?? ""
                guard let session = try await pool.run({ try $0.signIn(token: token) }) else {
                    return signInPage(request, error: "That token is not valid (or was revoked). Ask your platform operator for a new one.",
                                      status: .unauthorized)
                }
                var response = Self.redirect("/")
                response.setCookie(Self.cookie(Self.sessionCookie, session.cookie, request, maxAge: Admin.sessionSeconds))
                response.setCookie(Self.cookie(Self.signInCookie, "", request, maxAge: 0))
                return response
            }
        }
        router.post("signout") { request, _ in
            await action(request) { session, _ in
                try await pool.run { try $0.endSession(cookie: session.cookie) }
                var response = Self.redirect("/")
                response.setCookie(Self.cookie(Self.sessionCookie, "", request, maxAge: 0))
                return response
            }
        }
        router.post("drains") { request, _ in
            await action(request, writes: true) { session, form in try await save(nil, form, session) }
        }
        router.post("drains/:id") { request, context in
            await action(request, writes: true) { session, form in
                try await save(try context.parameters.require("id"), form, session)
            }
        }
        for (path, done) in [("enable", "enabled"), ("disable", "disabled")] {
            router.post(RouterPath("drains/:id/\(path)")) { request, context in
                await action(request, writes: true) { session, _ in
                    let id = try context.parameters.require("id")
                    let email = session.member.email
                    _ = try await pool.run { admin in
                        try API.change(id, by: session.member, admin) {
                            if done == "enabled" { try $0.enableDrain(id: id, actor: email, skipBacklog: false) }
                            else { try $0.disableDrain(id: id, actor: email) }
                        }
                    }
                    return Self.redirect("/?done=\(done)")
                }
            }
        }
        router.get("drains/:id/delete") { request, context in
            await page(request) { session in
                guard let session else { return Self.redirect("/") }
                let id = try context.parameters.require("id")
                let drain = try await pool.read { try API.owned(id, by: session.member, $0) }
                return render("confirmDelete", session, ["title": "Delete \(drain.name)",
                                                        "drain": ["id": drain.id, "name": drain.name, "url": drain.url]])
            }
        }
        router.post("drains/:id/delete") { request, context in
            await action(request, writes: true) { session, _ in
                let id = try context.parameters.require("id")
                _ = try await pool.run { admin in
                    try API.change(id, by: session.member, admin) { try $0.deleteDrain(id: id, actor: session.member.email) }
                }
                return Self.redirect("/?done=deleted")
            }
        }
    }

    static let doneMessages = [
        "created": "Log drain created. New logs are delivered to it within seconds.",
        "updated": "Log drain saved.",
        "unchanged": "Nothing to save: the log drain is as it was.",
        "enabled": "Log drain enabled: delivery resumes from where it stopped.",
        "disabled": "Log drain disabled: nothing is sent until you enable it again.",
        "deleted": "Log drain deleted.",
    ]

    // MARK: the form

    /// The create/edit form's state as the page shows it.
    struct FormState {
        var editingID: String?
        var currentName = ""
        var name = ""
        var url = ""
        var urlPlaceholder = "https://logs.example.com/ingest"
        var secret = ""
        var samplingRate = String(Limits.defaultSamplingRate)
        var disabled = false

        static let blank = FormState()

        var context: [String: Any] {
            ["editing": editingID != nil, "action": editingID.map { "/drains/\($0)" } ?? "/drains",
             "currentName": currentName, "name": name, "url": url, "urlPlaceholder": urlPlaceholder, "secret": secret,
             "secretPlaceholder": editingID == nil ? "at least 64 characters" : "leave empty to keep the current secret",
             "samplingRate": samplingRate, "disabled": disabled]
        }
    }

    private func editForm(_ id: String, _ session: DashboardSession) async throws -> FormState {
        let drain = try await pool.read { try API.owned(id, by: session.member, $0) }
        return FormState(editingID: id, currentName: drain.name, name: drain.name, url: "",
                         urlPlaceholder: "\(drain.url) (leave empty to keep)", samplingRate: String(drain.samplingRate))
    }

    /// Test (sends a signed test line, saves nothing) or Save, for a new drain or an edited one.
    private func save(_ id: String?, _ form: FormBody, _ session: DashboardSession) async throws -> Response {
        let member = session.member
        var state = id == nil ? FormState.blank : try await editForm(id!, session)
        let currentRate = Int(state.samplingRate)
        state.name = form.text("name") ?? (id == nil ? "" : state.name)
        state.url = form.text("url") ?? ""
        state.secret = form["secret"] ?? ""
        state.samplingRate = form.text("sampling_rate") ?? state.samplingRate
        state.disabled = form["disabled"] == "1"
        let secret = state.secret.isEmpty ? nil : SecretSource.given(state.secret)
        do {
            guard let rate = Int(state.samplingRate) else {
                throw AdminError("sampling-rate: must be a whole number between \(Limits.samplingRates.lowerBound) and \(Limits.maxSamplingRate) (got \(state.samplingRate))",
                                 kind: .invalid(field: "sampling-rate"))
            }
            if form["action"] == "test" {
                let url = state.url, drainID = id
                let summary = try await pool.run { admin -> String in
                    if let drainID {
                        _ = try API.owned(drainID, by: member, admin)
                        return try admin.testEdited(drainID: drainID, url: url.isEmpty ? nil : url, secret: secret)
                    }
                    guard !url.isEmpty else { throw AdminError("url: enter the endpoint URL to test", kind: .invalid(field: "url")) }
                    guard let secret else { throw AdminError("secret: enter the secret to sign the test line with", kind: .invalid(field: "secret")) }
                    return try admin.test(drainID: nil, url: url, secret: secret)
                }
                return try await drainsPage(session, notice: "Test line delivered: \(summary). Nothing was saved.", form: state)
            }
            if let id {
                let change = DrainChange(name: state.name == state.currentName ? nil : state.name,
                                         url: state.url.isEmpty ? nil : state.url,
                                         samplingRate: rate == currentRate ? nil : rate)
                if change.isEmpty && secret == nil { return Self.redirect("/?done=unchanged") }
                _ = try await pool.run { admin in
                    try API.change(id, by: member, admin) {
                        _ = try $0.changeDrain(id: id, actor: member.email, change: change, secret: secret, skipTest: false)
                    }
                }
                return Self.redirect("/?done=updated")
            }
            guard let secret else { throw AdminError("secret: enter a secret of at least 64 characters", kind: .invalid(field: "secret")) }
            let request = CreateRequest(account: member.account, actor: member.email, name: state.name, url: state.url,
                                        secret: secret, samplingRate: rate, skipTest: false, disabled: state.disabled)
            _ = try await pool.run { try $0.createDrain(request) }
            return Self.redirect("/?done=created")
        } catch {
            return try await drainsPage(session, error: Self.words(for: error), form: state, status: Self.status(for: error))
        }
    }

    // MARK: pages

    private func drainsPage(_ session: DashboardSession, notice: String? = nil, error: String? = nil,
                            form: FormState, status: HTTPResponse.Status = .ok) async throws -> Response {
        let member = session.member
        let drains = try await pool.read { try $0.drains(account: member.account) }
        let rows: [[String: Any]] = drains.map { d in
            ["id": d.id, "name": d.name, "url": d.url, "enabled": d.enabled,
             "status": d.statusWord, "statusClass": d.enabled ? (d.consecutiveFailures > 0 ? "failing" : "enabled") : (d.disabledReason == "failures" ? "failed" : "disabled"),
             "failures": String(d.consecutiveFailures), "lastSuccess": d.lastSuccessAt ?? "never",
             "lastError": d.lastError ?? "", "lag": d.enabled ? d.lagText : "-"]
        }
        var context: [String: Any] = ["title": "Log drains", "drains": rows, "hasDrains": !rows.isEmpty,
                                      "canChange": member.isAdmin, "form": form.context]
        if let notice { context["notice"] = notice }
        if let error { context["error"] = error }
        return render("drains", session, context, status: status)
    }

    private func signInPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        // Sign-in CSRF: a random value in a SameSite=Strict cookie that the form must echo.
        let csrf = Credential.randomHex(bytes: 32)
        var context: [String: Any] = ["title": "Sign in", "csrf": csrf]
        if let error { context["error"] = error }
        var response = Self.html(library.render(context, withTemplate: "signin") ?? "", status: status)
        response.setCookie(Self.cookie(Self.signInCookie, csrf, request, maxAge: 3600))
        return response
    }

    private func render(_ template: String, _ session: DashboardSession, _ context: [String: Any],
                        status: HTTPResponse.Status = .ok) -> Response {
        var context = context
        context["csrf"] = session.csrf
        context["member"] = ["email": session.member.email, "account": session.member.account, "role": session.member.role,
                             "csrf": session.csrf]
        return Self.html(library.render(context, withTemplate: template) ?? "", status: status)
    }

    // MARK: plumbing

    /// A GET page: finds the session (if any) and turns failures into a page that says what happened.
    private func page(_ request: Request, _ body: (DashboardSession?) async throws -> Response) async -> Response {
        do {
            return try await body(try await session(of: request))
        } catch {
            return Self.html(errorPage(Self.words(for: error)), status: Self.status(for: error))
        }
    }

    /// A POST from a signed-in page: session and CSRF token checked before anything is done.
    private func action(_ request: Request, writes: Bool = false,
                        _ body: (DashboardSession, FormBody) async throws -> Response) async -> Response {
        do {
            if Self.isCrossSite(request) {
                return Self.html(errorPage("This form did not come from this dashboard."), status: .forbidden)
            }
            guard let session = try await session(of: request) else { return Self.redirect("/") }
            let form = try await Self.form(request)
            guard session.isBearer || (form["csrf"].map { Credential.matches($0, session.csrf) } ?? false) else {
                return Self.html(errorPage("This form expired or did not come from this dashboard. Go back, reload and try again."),
                                 status: .forbidden)
            }
            if writes && !session.member.isAdmin {
                return try await drainsPage(session, error: Self.words(for: APIError.readOnly), form: .blank, status: .forbidden)
            }
            return try await body(session, form)
        } catch {
            return Self.html(errorPage(Self.words(for: error)), status: Self.status(for: error))
        }
    }

    /// The signed-in member: from the session cookie, or from an `Authorization: Bearer` token
    /// (which browsers never attach on their own, so it needs no CSRF token).
    private func session(of request: Request) async throws -> DashboardSession? {
        if let token = API.bearerToken(request) {
            return try await pool.read { try $0.authenticate(token: token) }.map(DashboardSession.bearer)
        }
        guard let cookie = request.cookies[Self.sessionCookie]?.value, !cookie.isEmpty else { return nil }
        return try await pool.read { try $0.session(cookie: cookie) }
    }

    /// Browsers say where a request came from (`Sec-Fetch-Site`); a form posted from another
    /// site is refused before its CSRF token is even looked at.
    static func isCrossSite(_ request: Request) -> Bool {
        let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!]?.lowercased()
        return site == "cross-site" || site == "same-site"
    }

    static func form(_ request: Request) async throws -> FormBody {
        var request = request
        let buffer = try await request.collectBody(upTo: API.maxBody)
        return FormBody(String(buffer: buffer))
    }

    /// A refusal in the customer's words, naming the form field by its label.
    static func words(for error: any Error) -> String {
        let e = APIError.from(error)
        switch e.code {
        case "invalid":
            let labels = ["name": "Name", "url": "Endpoint URL", "secret": "Secret", "sampling_rate": "Sampling rate"]
            // APIError.from has already spelt the field as the form does (`sampling_rate:`).
            if let field = e.field, let label = labels[field], let range = e.message.range(of: "\(field):") {
                return "\(label):" + e.message[range.upperBound...]
            }
            return e.message
        case "forbidden": return "Only an admin of this account can change its log drains. \(e.message)"
        case "not_found": return "That log drain does not exist in this account (it may have been deleted)."
        case "conflict": return "Another log drain of this account is enabled, and only one can be. Disable it first, or create this one disabled."
        case "endpoint_test_failed": return "The endpoint did not accept the signed test line, so nothing was saved: \(e.message)"
        case "unavailable": return "LogDrain cannot reach its database right now. Nothing was changed; please try again in a moment."
        default: return "Something went wrong: \(e.message)"
        }
    }

    static func status(for error: any Error) -> HTTPResponse.Status { APIError.from(error).status }

    /// A page that only says what went wrong (escaped by the template like every other page).
    func errorPage(_ message: String) -> String {
        library.render(["title": "LogDrain", "error": message], withTemplate: "errorPage") ?? message
    }

    static func html(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// POST, then redirect, then GET: a reload never repeats the action.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// HttpOnly, SameSite=Strict, and Secure when a TLS-terminating proxy says the request came over https.
    static func cookie(_ name: String, _ value: String, _ request: Request, maxAge: Int) -> Cookie {
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        return Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}
