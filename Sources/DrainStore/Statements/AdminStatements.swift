import DrainCore
internal import Postgres

// The operations of `drain-admin` and `serve`: each one SQL function call (sql/002_admin.sql
// and later), so the admin role, validation, the one-enabled-drain rule and the audit trail
// live in the database.

extension SQL.Migrations {
    struct Lock: PostgresStatement {
        typealias Row = Void
        static let sql = "select pg_advisory_xact_lock($1::bigint)"
        var key: Int64
        func makeBindings() -> PostgresBindings { PostgresBindings(key) }
    }
    static let createTable = """
        create table if not exists schema_migrations (
            version text primary key,
            applied_at timestamptz not null default now())
        """
    struct Applied: PostgresStatement {
        static let sql = "select version from schema_migrations order by version"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("version") }
    }
    struct Record: PostgresStatement {
        typealias Row = Void
        static let sql = "insert into schema_migrations (version) values ($1)"
        var version: String
        func makeBindings() -> PostgresBindings { PostgresBindings(version) }
    }
    struct QuotedSchema: PostgresStatement {
        static let sql = "select quote_ident(current_schema()) as schema"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("schema") }
    }
}

extension SQL.Maintenance {
    struct EnsurePartitions: PostgresStatement {
        static let sql = "select logdrain_ensure_partitions($1::int) as created"
        var daysAhead: Int
        func makeBindings() -> PostgresBindings { PostgresBindings(daysAhead) }
        func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode("created") }
    }

    /// Partitions ahead, retention behind, forgotten workers: one run under an advisory lock
    /// (sql/008_operations.sql). Settings given (nil: keep) are saved for later runs.
    struct Run: PostgresStatement {
        static let sql = """
            select created, dropped, days_ahead, retention_days from logdrain_maintain($1::int, $2::int, $3)
            """
        var daysAhead: Int?
        var retentionDays: Int?
        var by: String
        func makeBindings() -> PostgresBindings { PostgresBindings(daysAhead, retentionDays, by) }
        func decodeRow(_ row: PostgresRow) throws -> MaintenanceRun { try MaintenanceRun(row) }
    }

    /// A worker's hourly ask: a row when it ran the upkeep, none when it was not due.
    struct RunIfDue: PostgresStatement {
        static let sql = """
            select created, dropped, days_ahead, retention_days from logdrain_maintain_if_due($1)
            """
        var worker: String
        func makeBindings() -> PostgresBindings { PostgresBindings(worker) }
        func decodeRow(_ row: PostgresRow) throws -> MaintenanceRun { try MaintenanceRun(row) }
    }

    /// Held by every upkeep run; `migrate` takes it before creating the coming partitions.
    struct UpkeepLock: PostgresStatement {
        typealias Row = Void
        static let sql = "select logdrain_lock_upkeep(true)"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
    }
}

extension MaintenanceRun {
    init(_ row: PostgresRow) throws {
        self.init(created: try row.decode("created"), dropped: try row.decode("dropped"),
                  daysAhead: try row.decode("days_ahead"), retentionDays: try row.decode("retention_days"))
    }
}

extension SQL.Accounts {
    private static let columns = "id, name, logdrain_rfc3339(created_at) as created_at"

    struct Create: PostgresStatement {
        static let sql = "select \(columns) from account_create($1)"
        var name: String
        func makeBindings() -> PostgresBindings { PostgresBindings(name) }
        func decodeRow(_ row: PostgresRow) throws -> Account { try Account(row) }
    }
    struct List: PostgresStatement {
        static let sql = "select \(columns) from accounts order by name"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> Account { try Account(row) }
    }
    /// Through a SECURITY DEFINER function: a producer (`ingest`) maps a name to the id it
    /// writes without reading the accounts table. Unknown names come back NULL.
    struct IDByName: PostgresStatement {
        static let sql = "select logdrain_account_id_or_null($1) as id"
        var name: String
        func makeBindings() -> PostgresBindings { PostgresBindings(name) }
        func decodeRow(_ row: PostgresRow) throws -> Int64? { try row.decode("id", as: Int64?.self) }
    }
}

extension Account {
    init(_ row: PostgresRow) throws {
        self.init(id: try row.decode("id"), name: try row.decode("name"), createdAt: try row.decode("created_at"))
    }
}

extension SQL.Members {
    struct Add: PostgresStatement {
        typealias Row = Void
        static let sql = "select member_add($1, $2, $3, $4)"
        var account: String
        var email: String
        var role: String
        var dbRole: String?
        func makeBindings() -> PostgresBindings { PostgresBindings(account, email, role, dbRole) }
    }
    struct List: PostgresStatement {
        static let sql = """
            select u.email, m.role, logdrain_rfc3339(m.created_at) as created_at, u.db_role
            from memberships m join users u on u.id = m.user_id
            where m.account_id = logdrain_account_id($1) order by u.email
            """
        var account: String
        func makeBindings() -> PostgresBindings { PostgresBindings(account) }
        func decodeRow(_ row: PostgresRow) throws -> Member {
            Member(email: try row.decode("email"), role: try row.decode("role"), createdAt: try row.decode("created_at"),
                   dbRole: try row.decode("db_role", as: String?.self))
        }
    }
}

/// Sign-in tokens and dashboard sessions (sql/007_tokens.sql); only hashes are bound.
extension SQL.Tokens {
    struct Create: PostgresStatement {
        static let sql = "select logdrain_rfc3339(token_create($1, $2, $3, $4)) as created_at"
        var account: String
        var email: String
        var lookupKey: String
        var hash: String
        func makeBindings() -> PostgresBindings { PostgresBindings(account, email, lookupKey, hash) }
        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("created_at") }
    }
    struct Revoke: PostgresStatement {
        static let sql = "select token_revoke($1, $2) as revoked"
        var account: String
        var email: String
        func makeBindings() -> PostgresBindings { PostgresBindings(account, email) }
        func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode("revoked") }
    }
    /// The token row behind a lookup key; `stale` says its last use is worth recording.
    struct Lookup: PostgresStatement {
        static let sql = "select token_id, token_hash, account, email, role, stale from logdrain_token_lookup($1)"
        var lookupKey: String
        func makeBindings() -> PostgresBindings { PostgresBindings(lookupKey) }
        func decodeRow(_ row: PostgresRow) throws -> TokenCandidate {
            TokenCandidate(hash: try row.decode("token_hash"), member: try SignedInMember(row), stale: try row.decode("stale"))
        }
    }
    struct Used: PostgresStatement {
        typealias Row = Void
        static let sql = "select logdrain_token_used($1::bigint)"
        var tokenID: Int64
        func makeBindings() -> PostgresBindings { PostgresBindings(tokenID) }
    }
    struct CreateSession: PostgresStatement {
        static let sql = "select logdrain_session_create($1::bigint, $2, $3, $4::int) as created"
        var tokenID: Int64
        var sessionHash: String
        var csrf: String
        var seconds: Int
        func makeBindings() -> PostgresBindings { PostgresBindings(tokenID, sessionHash, csrf, seconds) }
        func decodeRow(_ row: PostgresRow) throws -> Bool { try row.decode("created") }
    }
    struct Session: PostgresStatement {
        static let sql = "select token_id, account, email, role, csrf_token from logdrain_session_lookup($1)"
        var sessionHash: String
        func makeBindings() -> PostgresBindings { PostgresBindings(sessionHash) }
        func decodeRow(_ row: PostgresRow) throws -> (member: SignedInMember, csrf: String) {
            (try SignedInMember(row), try row.decode("csrf_token"))
        }
    }
    struct DeleteSession: PostgresStatement {
        typealias Row = Void
        static let sql = "select logdrain_session_delete($1)"
        var sessionHash: String
        func makeBindings() -> PostgresBindings { PostgresBindings(sessionHash) }
    }
}

extension SignedInMember {
    init(_ row: PostgresRow) throws {
        self.init(tokenID: try row.decode("token_id"), account: try row.decode("account"),
                  email: try row.decode("email"), role: try row.decode("role"))
    }
}

extension SQL.Audit {
    struct List: PostgresStatement {
        static let sql = """
            select e.id, e.actor, e.action, e.drain_id, e.before::text as before, e.after::text as after,
                   logdrain_rfc3339(e.at) as at
            from account_audit e where e.account_id = logdrain_account_id($1) order by e.id
            """
        var account: String
        func makeBindings() -> PostgresBindings { PostgresBindings(account) }
        func decodeRow(_ row: PostgresRow) throws -> AuditEvent {
            AuditEvent(id: try row.decode("id"), actor: try row.decode("actor"), action: try row.decode("action"),
                       drainID: try row.decode("drain_id", as: String?.self), before: try row.decode("before", as: String?.self),
                       after: try row.decode("after", as: String?.self), at: try row.decode("at"))
        }
    }
}
