import DrainAdminKit
import DrainCore
import Foundation
import Hummingbird

/// An error answer of the JSON API (DESIGN §6): `{"error": {"code", "message", "field"}}`.
struct APIError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    let field: String?

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    static func invalid(_ message: String, field: String?) -> APIError { APIError(.badRequest, "invalid", message, field: field) }
    static let unauthorized = APIError(.unauthorized, "unauthorized",
                                       "sign in with a token: Authorization: Bearer TOKEN (drain-admin token create ACCOUNT EMAIL)")
    static let readOnly = APIError(.forbidden, "forbidden", "permission denied: members may read; only an admin of the account may change its drains")
    static func notFound(_ id: String) -> APIError { APIError(.notFound, "not_found", "drain: no drain with id \(id) in this account") }

    /// The API's view of an admin error: field names as the API spells them (`sampling_rate`).
    static func from(_ error: any Error) -> APIError {
        if let e = error as? APIError { return e }
        let e = AdminError.from(error)
        switch e.kind {
        case .invalid(let field):
            let apiField = field.map { $0.replacingOccurrences(of: "-", with: "_") }
            return .invalid(apiField.map { e.message.replacingOccurrences(of: "\($0.replacingOccurrences(of: "_", with: "-")):", with: "\($0):") } ?? e.message,
                            field: apiField)
        case .denied: return APIError(.forbidden, "forbidden", e.message)
        case .notFound: return APIError(.notFound, "not_found", e.message)
        case .conflict: return APIError(.conflict, "conflict", e.message)
        case .endpointTest: return APIError(.unprocessableContent, "endpoint_test_failed", e.message)
        case .unavailable: return APIError(.serviceUnavailable, "unavailable", "database unavailable; try again shortly")
        case .failed:
            // The detail (a database message may quote row values) goes to the server's log only.
            FileHandle.standardError.write(Data("drain-admin serve: error: \(e.message)\n".utf8))
            return APIError(.internalServerError, "internal", "internal error; the server's log has the details")
        }
    }

    var body: String {
        JSONOutput.object([("error", .object([("code", .string(code)), ("message", .string(message)),
                                              ("field", .string(field))]))]).render()
    }
}
