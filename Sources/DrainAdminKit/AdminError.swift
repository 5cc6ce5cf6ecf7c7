import DrainCore
import DrainStore

/// Why an admin operation failed: one line for people, and what kind of failure it is, which
/// each caller maps to its own terms (the CLI's exit status, the API's status code, the
/// dashboard's message).
public struct AdminError: Error, CustomStringConvertible {
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
    public let kind: Kind

    public init(_ message: String, kind: Kind = .invalid(field: nil)) {
        self.message = message
        self.kind = kind
    }

    /// A refusal of the input or of the actor, as opposed to an operation that could not be
    /// carried out (the database, the endpoint or the machine failed it).
    public var isRefusal: Bool {
        switch kind {
        case .invalid, .denied, .notFound, .conflict: true
        case .endpointTest, .unavailable, .failed: false
        }
    }

    public var description: String { message }

    /// Maps any error to its one-line message and kind.
    public static func from(_ error: any Error) -> AdminError {
        switch error {
        case let e as AdminError: return e
        case let e as ValidationFailure: return AdminError(e.description, kind: .invalid(field: e.field))
        case let e as IngestError: return AdminError(e.message)
        case let e as StoreError: return from(store: e)
        default: return AdminError("\(error)", kind: .failed)
        }
    }

    static func from(store e: StoreError) -> AdminError {
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
        case "42883", "42P01": return AdminError("database schema is missing or outdated (run `drain-admin migrate`): \(e.message)", kind: .failed)
        default:
            return AdminError("database: \(e.description)", kind: e.isConnectionLoss ? .unavailable : .failed)
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
