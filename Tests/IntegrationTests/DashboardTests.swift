import Foundation
import XCTest

/// The dashboard's HTTP behaviour that a browser hides: cookie attributes, CSRF refusals,
/// security headers, and a member's read-only view. (The customer's path through the pages is
/// Tests/browser/dashboard_test.py, in headless Chromium.)
final class DashboardTests: XCTestCase {
    var h: Harness!
    var serve: ServeProcess!

    override func setUpWithError() throws {
        h = try Harness.load()
        serve = try ServeProcess(h)
    }

    override func tearDown() { serve?.stop() }

    /// Signs in through the form, as a browser would, keeping cookies in `jar`; returns the CSRF token.
    func signIn(_ token: String, jar: URL, headers: [String] = []) throws -> (page: HTTPExchange, signIn: HTTPExchange, csrf: String) {
        let form = try http("GET", serve.baseURL + "/", headers: headers, cookieJar: jar)
        let formCSRF = try XCTUnwrap(Self.csrf(in: form.body), form.body)
        let signIn = try http("POST", serve.baseURL + "/signin", form: "csrf=\(formCSRF)&token=\(token)", headers: headers, cookieJar: jar)
        XCTAssertEqual(signIn.status, 303, signIn.body)
        let page = try http("GET", serve.baseURL + "/", headers: headers, cookieJar: jar)
        return (page, signIn, try XCTUnwrap(Self.csrf(in: page.body), page.body))
    }

    static func csrf(in html: String) -> String? {
        guard let r = html.range(of: #"name="csrf" value="[0-9a-f]{64}""#, options: .regularExpression) else { return nil }
        return String(html[r].dropLast().suffix(64))
    }

    func jar() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("jar-\(UUID().uuidString)") }

    func testSessionCookieIsHttpOnlyStrictAndSecureBehindTLS() throws {
        let a = try h.makeAccount("web")
        let token = try h.token(a.name, a.admin)
        let plain = try signIn(token, jar: jar())
        let cookie = try XCTUnwrap(plain.signIn.headers["set-cookie"]?.split(separator: "\n").first { $0.hasPrefix("logdrain_session=") })
        XCTAssertTrue(cookie.contains("HttpOnly"), String(cookie))
        XCTAssertTrue(cookie.contains("SameSite=Strict"), String(cookie))
        XCTAssertFalse(cookie.contains("Secure"), "plain HTTP on loopback: \(cookie)")
        XCTAssertTrue(plain.page.body.contains("Log drains"))
        XCTAssertTrue(plain.page.body.contains("Create log drain"))

        let proxied = try signIn(token, jar: jar(), headers: ["X-Forwarded-Proto: https"])
        let secure = try XCTUnwrap(proxied.signIn.headers["set-cookie"]?.split(separator: "\n").first { $0.hasPrefix("logdrain_session=") })
        XCTAssertTrue(secure.contains("Secure"), String(secure))

        for name in ["content-security-policy", "x-frame-options", "x-content-type-options"] {
            XCTAssertNotNil(plain.page.headers[name], name)
        }
        XCTAssertEqual(plain.page.headers["x-frame-options"], "DENY")
        XCTAssertFalse(plain.page.headers["content-security-policy"]?.contains("script-src") ?? true, "no script allowed at all")
        XCTAssertFalse(plain.page.body.contains("<script"), "the dashboard needs no JavaScript")
    }

    func testFormsWithoutTheSessionsCSRFTokenChangeNothing() throws {
        let a = try h.makeAccount("web")
        let id = try h.makeDrain(account: a, path: "/web-csrf")
        let cookies = jar()
        let signed = try signIn(try h.token(a.name, a.admin), jar: cookies)
        for form in ["", "csrf=" + String(repeating: "0", count: 64), "csrf=" + String(signed.csrf.dropLast()) + "x"] {
            let r = try http("POST", serve.baseURL + "/drains/\(id)/disable", form: form, cookieJar: cookies)
            XCTAssertEqual(r.status, 403, "form \(form)")
            XCTAssertTrue(r.body.contains("expired or did not come from this dashboard"), r.body)
        }
        XCTAssertEqual(try h.show(id)["enabled"] as? Bool, true)
        // A sign-in form posted from elsewhere (no matching sign-in cookie) is refused too.
        let forged = try http("POST", serve.baseURL + "/signin", form: "csrf=abc&token=\(try h.token(a.name, a.admin))")
        XCTAssertEqual(forged.status, 403)
        XCTAssertNil(forged.headers["set-cookie"].flatMap { $0.contains("logdrain_session=") && !$0.contains("logdrain_session=;") ? $0 : nil })

        let ok = try http("POST", serve.baseURL + "/drains/\(id)/disable", form: "csrf=\(signed.csrf)", cookieJar: cookies)
        XCTAssertEqual(ok.status, 303)
        XCTAssertEqual(try h.show(id)["enabled"] as? Bool, false)
        // Signed out: the cookie no longer opens the dashboard.
        XCTAssertEqual(try http("POST", serve.baseURL + "/signout", form: "csrf=\(signed.csrf)", cookieJar: cookies).status, 303)
        XCTAssertTrue(try http("GET", serve.baseURL + "/", cookieJar: cookies).body.contains("Sign in"))
    }

    func testAMemberSeesDrainsButNoControlsAndCannotPostChanges() throws {
        let a = try h.makeAccount("web")
        let id = try h.makeDrain(account: a, path: "/web-member")
        let member = "viewer@\(a.name).example"
        XCTAssertEqual(try runTool(h, "drain-admin", ["member", "add", a.name, member, "--role", "member"]).status, 0)
        let cookies = jar()
        let signed = try signIn(try h.token(a.name, member), jar: cookies)
        XCTAssertTrue(signed.page.body.contains("drain /web-member"))
        XCTAssertFalse(signed.page.body.contains(">Disable<"))
        XCTAssertFalse(signed.page.body.contains("Create log drain"))
        let r = try http("POST", serve.baseURL + "/drains/\(id)/delete", form: "csrf=\(signed.csrf)", cookieJar: cookies)
        XCTAssertEqual(r.status, 403)
        XCTAssertTrue(r.body.contains("Only an admin of this account"), r.body)
        XCTAssertNotNil(try h.show(id)["id"], "still there")
    }

    func testAnotherAccountsDrainIsNotFoundAndPagesEscapeWhatCustomersTyped() throws {
        let a = try h.makeAccount("web"), b = try h.makeAccount("web")
        let theirs = try h.makeDrain(account: a, path: "/web-theirs")
        let cookies = jar()
        let signed = try signIn(try h.token(b.name, b.admin), jar: cookies)
        XCTAssertEqual(try http("GET", serve.baseURL + "/drains/\(theirs)/delete", cookieJar: cookies).status, 404)
        XCTAssertEqual(try http("POST", serve.baseURL + "/drains/\(theirs)/delete", form: "csrf=\(signed.csrf)", cookieJar: cookies).status, 404)
        XCTAssertNotNil(try h.show(theirs)["id"])
        // A name with markup comes back as text.
        let r = try http("POST", serve.baseURL + "/drains", form: "csrf=\(signed.csrf)&action=save&name=%3Cscript%3Ex%3C%2Fscript%3E&url=ftp%3A%2F%2Fx&secret=s",
                         cookieJar: cookies)
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.body.contains("Endpoint URL: must be an https:// URL"), r.body)
        XCTAssertTrue(r.body.contains("&lt;script&gt;"), "escaped")
        XCTAssertFalse(r.body.contains("<script>"))
        // A saved name with markup is text in the table, the title and the delete page.
        let marked = try runTool(h, "drain-admin", ["create", b.name, "--as", b.admin, "--name", "<img src=x onerror=alert(1)>\"'",
                                                    "--url", h.receiverURL + "/web-markup", "--secret-file", h.secretFile,
                                                    "--skip-test", "--json", "--allow-private-endpoints"])
        XCTAssertEqual(marked.status, 0, marked.stderr)
        let id = marked.object["id"] as? String ?? ""
        for page in [try http("GET", serve.baseURL + "/", cookieJar: cookies), try http("GET", serve.baseURL + "/?edit=\(id)", cookieJar: cookies),
                     try http("GET", serve.baseURL + "/drains/\(id)/delete", cookieJar: cookies)] {
            XCTAssertEqual(page.status, 200)
            XCTAssertFalse(page.body.contains("<img"), page.body)
            XCTAssertTrue(page.body.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;"), page.body)
        }
        // A form posted from another site is refused whatever it carries.
        let cross = try http("POST", serve.baseURL + "/drains/\(id)/disable", form: "csrf=\(signed.csrf)",
                             headers: ["Sec-Fetch-Site: cross-site"], cookieJar: cookies)
        XCTAssertEqual(cross.status, 403)
        XCTAssertEqual(try h.show(id)["enabled"] as? Bool, true)
        // Saving an unchanged edit form changes (and audits) nothing.
        let before = try runTool(h, "drain-admin", ["audit", b.name, "--json"]).array.count
        let same = try http("POST", serve.baseURL + "/drains/\(id)", form: "csrf=\(signed.csrf)&action=save&name=&url=&secret=&sampling_rate=1000",
                            cookieJar: cookies)
        XCTAssertEqual(same.status, 303, same.body)
        XCTAssertEqual(same.headers["location"], "/?done=unchanged")
        XCTAssertEqual(try runTool(h, "drain-admin", ["audit", b.name, "--json"]).array.count, before)
    }

    /// Scripts may drive the dashboard with the API's bearer token instead of a session cookie;
    /// a header browsers never add by themselves needs no CSRF token. A bad one signs nobody in.
    func testABearerTokenOpensTheDashboardWithoutACookie() throws {
        let a = try h.makeAccount("web")
        let id = try h.makeDrain(account: a, path: "/web-bearer")
        let token = try h.token(a.name, a.admin)
        let page = try http("GET", serve.baseURL + "/", headers: ["Authorization: Bearer \(token)"])
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("drain /web-bearer"), page.body)
        XCTAssertNil(page.headers["set-cookie"].flatMap { $0.contains("logdrain_session=") ? $0 : nil })
        let disabled = try http("POST", serve.baseURL + "/drains/\(id)/disable", form: "", headers: ["Authorization: Bearer \(token)"])
        XCTAssertEqual(disabled.status, 303, disabled.body)
        XCTAssertEqual(try h.show(id)["enabled"] as? Bool, false)
        let forged = try http("GET", serve.baseURL + "/", headers: ["Authorization: Bearer ldt_" + String(repeating: "1", count: 64)])
        XCTAssertTrue(forged.body.contains("Sign in"))
        XCTAssertFalse(forged.body.contains("drain /web-bearer"))
    }
}
