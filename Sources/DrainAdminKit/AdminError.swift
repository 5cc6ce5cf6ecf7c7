import DrainCore
import Postgres

/// What `drain-admin` reports on failure: one line, and an exit code.
/// 1: the operation could not be done (database unreachable, endpoint test failed);
/// 2: bad input or a refusal (validation, permission, conflict, not found).
public struct AdminError: Error, CustomStringConvertible {
    public let message: String
    public let exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 2) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }

    /// Maps any error to its one-line message and exit code.
    public static func from(_ error: any Error) -> AdminError {
        switch error {
        case let e as AdminError: return e
        case let e as ValidationFailure: return AdminError(e.description)
        case let e as IngestError: return AdminError(e.message)
        case let e as PostgresError: return from(postgres: e)
        default: return AdminError("\(error)", exitCode: 1)
        }
    }

    static func from(postgres e: PostgresError) -> AdminError {
        switch e.sqlState {
        // Our SQL functions raise these with messages written for people.
        case "22023", "42501", "23505", "P0002": return AdminError(e.message)
        case "22P02": return AdminError("invalid value: \(e.message)")
        case "23514":
            if let constraint = e.constraint { return AdminError("refused by database constraint \(constraint): \(e.message)") }
            return AdminError("refused by a database constraint: \(e.message)")
        case "42883", "42P01": return AdminError("database schema is missing or outdated (run `drain-admin migrate`): \(e.message)", exitCode: 1)
        default:
            return AdminError("database: \(e.description)", exitCode: 1)
        }
    }
}
