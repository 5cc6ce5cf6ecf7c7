import DrainCore
import Postgres

/// What `drain-admin` reports on failure: one line, and an exit code.
/// 1: the operation could not be done (database unreachable, endpoint test failed);
/// 2: bad input or a refusal (validation, permission, conflict, not found).
public struct AdminError: Error, CustomStringConvertible {
    /// What went wrong, for callers that answer in other terms than exit codes (the JSON API's
    /// status codes, the dashboard's messages).
    public enum Kind: Sendable, Equatable {
        /// Bad input; `field` names it when one field is at fault.
        case invalid(field: String?)
        /// The actor may not do this (not an admin, wrong session).
        case denied
        case notFound
        /// Another drain of the account is enabled.
        case conflict
        /// The endpoint's test delivery did not get a 2xx answer.
        case endpointTest
        /// The database could not be reached.
        case unavailable
        case failed
    }

    public let message: String
    public let exitCode: Int32
    public let kind: Kind

    public init(_ message: String, exitCode: Int32 = 2, kind: Kind? = nil) {
        self.message = message
        self.exitCode = exitCode
        self.kind = kind ?? (exitCode == 2 ? .invalid(field: nil) : .failed)
    }

    public var description: String { message }

    /// Maps any error to its one-line message and exit code.
    public static func from(_ error: any Error) -> AdminError {
        switch error {
        case let e as AdminError: return e
        case let e as ValidationFailure: return AdminError(e.description, kind: .invalid(field: e.field))
        case let e as IngestError: return AdminError(e.message)
        case let e as PostgresError: return from(postgres: e)
        default: return AdminError("\(error)", exitCode: 1)
        }
    }

    static func from(postgres e: PostgresError) -> AdminError {
        switch e.sqlState {
        // Our SQL functions raise these with messages written for people ("field: problem").
        case "22023": return AdminError(e.message, kind: .invalid(field: fieldPrefix(of: e.message)))
        case "42501": return AdminError(e.message, kind: .denied)
        case "23505": return AdminError(e.message, kind: .conflict)
        case "P0002": return AdminError(e.message, kind: .notFound)
        case "22P02": return AdminError("invalid value: \(e.message)")
        case "23514":
            if let constraint = e.constraint { return AdminError("refused by database constraint \(constraint): \(e.message)") }
            return AdminError("refused by a database constraint: \(e.message)")
        case "42883", "42P01": return AdminError("database schema is missing or outdated (run `drain-admin migrate`): \(e.message)", exitCode: 1)
        default:
            return AdminError("database: \(e.description)", exitCode: 1, kind: e.isConnectionLoss ? .unavailable : .failed)
        }
    }

    /// "url: must be ..." names the field `url`.
    static func fieldPrefix(of message: String) -> String? {
        guard let colon = message.firstIndex(of: ":") else { return nil }
        let word = message[..<colon]
        guard !word.isEmpty, word.allSatisfy({ $0.isLetter || $0 == "-" || $0 == "_" }) else { return nil }
        return String(word)
    }
}
