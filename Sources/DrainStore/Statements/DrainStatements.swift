import DrainCore
internal import Postgres

extension SQL.Drains {
    struct Create: PostgresStatement {
        static let sql = "select drain_create($1, $2, $3, $4, $5, $6::int, $7::boolean) as id"
        var drain: NewDrain
        func makeBindings() -> PostgresBindings {
            PostgresBindings(drain.account, drain.actor, drain.name, drain.url, drain.secret, drain.samplingRate, drain.enabled)
        }
        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("id") }
    }
    /// Nil fields of the change stay as they are.
    struct Update: PostgresStatement {
        typealias Row = Void
        static let sql = "select drain_update($1::uuid, $2, $3, $4, $5::int, $6)"
        var id: String
        var actor: String
        var change: DrainChange
        func makeBindings() -> PostgresBindings {
            PostgresBindings(id, actor, change.name, change.url, change.samplingRate, change.secret)
        }
    }
    struct Enable: PostgresStatement {
        typealias Row = Void
        static let sql = "select drain_enable($1::uuid, $2, $3::boolean)"
        var id: String
        var actor: String
        var skipBacklog: Bool
        func makeBindings() -> PostgresBindings { PostgresBindings(id, actor, skipBacklog) }
    }
    struct Disable: PostgresStatement {
        typealias Row = Void
        static let sql = "select drain_disable($1::uuid, $2)"
        var id: String
        var actor: String
        func makeBindings() -> PostgresBindings { PostgresBindings(id, actor) }
    }
    struct Delete: PostgresStatement {
        typealias Row = Void
        static let sql = "select drain_delete($1::uuid, $2)"
        var id: String
        var actor: String
        func makeBindings() -> PostgresBindings { PostgresBindings(id, actor) }
    }
    /// Refuses (as the write would) before anything is sent to an endpoint: the actor must be
    /// an admin of the account, and enabling must not make a second enabled drain.
    struct PrecheckAccount: PostgresStatement {
        typealias Row = Void
        static let sql = "select drain_precheck($1, $2, $3::boolean)"
        var account: String
        var actor: String
        var enabling: Bool
        func makeBindings() -> PostgresBindings { PostgresBindings(account, actor, enabling) }
    }
    /// Checks the actor against the drain's account; answers the account's name.
    struct PrecheckDrain: PostgresStatement {
        static let sql = "select drain_precheck($1::uuid, $2) as account"
        var id: String
        var actor: String
        func makeBindings() -> PostgresBindings { PostgresBindings(id, actor) }
        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("account") }
    }
    struct Endpoint: PostgresStatement {
        static let sql = "select url, secret from drain_endpoint($1::uuid)"
        var id: String
        func makeBindings() -> PostgresBindings { PostgresBindings(id) }
        func decodeRow(_ row: PostgresRow) throws -> (url: String, secret: String) {
            (try row.decode("url"), try row.decode("secret"))
        }
    }
    struct AllSecrets: PostgresStatement {
        static let sql = "select id, secret from drains order by id"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> (id: String, secret: String) {
            (try row.decode("id"), try row.decode("secret"))
        }
    }
    /// Replaces a stored secret with its re-encryption, only while it is still `old`.
    struct ReplaceSecret: PostgresStatement {
        static let sql = "select logdrain_replace_secret($1::uuid, $2, $3) as replaced"
        var id: String
        var old: String
        var new: String
        func makeBindings() -> PostgresBindings { PostgresBindings(id, old, new) }
        func decodeRow(_ row: PostgresRow) throws -> Bool { try row.decode("replaced") }
    }

    private static let statusColumns = """
        select id, account, name, url, enabled, disabled_reason, sampling_rate, consecutive_failures,
               logdrain_rfc3339(last_success_at) as last_success_at,
               logdrain_rfc3339(last_failure_at) as last_failure_at, last_error,
               logdrain_rfc3339(created_at) as created_at, delivered_lines, lag_seconds,
               pending_delivery_id, pending_attempts, pending_lines, lease_owner,
               gap_lines, logdrain_rfc3339(last_gap_at) as last_gap_at
        from drain_status
        """
    struct Show: PostgresStatement {
        static let sql = statusColumns + " where id = $1::uuid"
        var id: String
        func makeBindings() -> PostgresBindings { PostgresBindings(id) }
        func decodeRow(_ row: PostgresRow) throws -> DrainStatus { try DrainStatus(row) }
    }
    struct ListAll: PostgresStatement {
        static let sql = statusColumns + " order by account, created_at"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> DrainStatus { try DrainStatus(row) }
    }
    struct ListAccount: PostgresStatement {
        static let sql = statusColumns + " where account_id = logdrain_account_id($1) order by created_at"
        var account: String
        func makeBindings() -> PostgresBindings { PostgresBindings(account) }
        func decodeRow(_ row: PostgresRow) throws -> DrainStatus { try DrainStatus(row) }
    }
    struct RecentAttempts: PostgresStatement {
        static let sql = """
            select delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, logdrain_rfc3339(at) as at
            from drain_attempts where drain_id = $1::uuid order by at desc limit 10
            """
        var id: String
        func makeBindings() -> PostgresBindings { PostgresBindings(id) }
        func decodeRow(_ row: PostgresRow) throws -> RecentAttempt {
            RecentAttempt(deliveryID: try row.decode("delivery_id", as: String?.self), attempt: try row.decode("attempt"),
                          lines: try row.decode("lines"), bytes: try row.decode("bytes"),
                          status: try row.decode("status", as: Int?.self), error: try row.decode("error", as: String?.self),
                          durationMs: try row.decode("duration_ms", as: Int?.self),
                          worker: try row.decode("worker", as: String?.self), at: try row.decode("at"))
        }
    }
}

extension DrainStatus {
    init(_ r: PostgresRow) throws {
        self.init(id: try r.decode("id"), account: try r.decode("account"), name: try r.decode("name"),
                  url: try r.decode("url"), enabled: try r.decode("enabled"),
                  disabledReason: try r.decode("disabled_reason", as: String?.self), samplingRate: try r.decode("sampling_rate"),
                  consecutiveFailures: try r.decode("consecutive_failures"),
                  lastSuccessAt: try r.decode("last_success_at", as: String?.self),
                  lastFailureAt: try r.decode("last_failure_at", as: String?.self),
                  lastError: try r.decode("last_error", as: String?.self), createdAt: try r.decode("created_at"),
                  deliveredLines: try r.decode("delivered_lines"), lagSeconds: try r.decode("lag_seconds", as: Double?.self),
                  pendingDeliveryID: try r.decode("pending_delivery_id", as: String?.self),
                  pendingAttempts: try r.decode("pending_attempts"),
                  pendingLines: try r.decode("pending_lines", as: Int?.self), leaseOwner: try r.decode("lease_owner", as: String?.self),
                  gapLines: try r.decode("gap_lines"), lastGapAt: try r.decode("last_gap_at", as: String?.self))
    }
}

extension SQL.Workers {
    /// The delivery watermark as the worker's reads see it: the oldest running transaction id
    /// (xmin) and the next one (xmax); equal when nothing runs. The worker times how long xmin
    /// stays put (needs no privilege, and counts exactly what holds deliveries back:
    /// transactions with an id, prepared ones included).
    struct Watermark: PostgresStatement {
        static let preparedName: String? = "logdrain_watermark"
        static let sql = "select pg_snapshot_xmin(s)::text as xmin, pg_snapshot_xmax(s)::text as xmax from pg_current_snapshot() s"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
        func decodeRow(_ row: PostgresRow) throws -> (xmin: String, xmax: String) {
            (try row.decode("xmin"), try row.decode("xmax"))
        }
    }
    struct Heartbeat: PostgresStatement {
        typealias Row = Void
        static let preparedName: String? = "logdrain_heartbeat"
        static let sql = """
            insert into workers (name, host, pid, in_flight) values ($1, $2, $3::int, $4::int)
            on conflict (name) do update set host = excluded.host, pid = excluded.pid,
                heartbeat_at = now(), in_flight = excluded.in_flight
            """
        var name: String
        var host: String
        var pid: Int
        var inFlight: Int
        func makeBindings() -> PostgresBindings { PostgresBindings(name, host, pid, inFlight) }
    }
    struct Register: PostgresStatement {
        typealias Row = Void
        static let sql = """
            insert into workers (name, host, pid, in_flight) values ($1, $2, $3::int, 0)
            on conflict (name) do update set host = excluded.host, pid = excluded.pid,
                started_at = now(), heartbeat_at = now(), in_flight = 0
            """
        var name: String
        var host: String
        var pid: Int
        func makeBindings() -> PostgresBindings { PostgresBindings(name, host, pid) }
    }
    struct Unregister: PostgresStatement {
        typealias Row = Void
        static let sql = "delete from workers where name = $1"
        var name: String
        func makeBindings() -> PostgresBindings { PostgresBindings(name) }
    }
    struct Ping: PostgresStatement {
        typealias Row = Void
        static let sql = "select 1"
        func makeBindings() -> PostgresBindings { PostgresBindings() }
    }
    /// Workers whose heartbeat is younger than `withinSeconds`.
    struct List: PostgresStatement {
        static let sql = """
            select name, host, pid, logdrain_rfc3339(started_at) as started_at,
                   logdrain_rfc3339(heartbeat_at) as heartbeat_at, in_flight
            from workers where heartbeat_at > now() - make_interval(secs => $1::float8) order by name
            """
        var withinSeconds: Double
        func makeBindings() -> PostgresBindings { PostgresBindings(withinSeconds) }
        func decodeRow(_ row: PostgresRow) throws -> WorkerInfo {
            WorkerInfo(name: try row.decode("name"), host: try row.decode("host"), pid: try row.decode("pid"),
                       startedAt: try row.decode("started_at"), heartbeatAt: try row.decode("heartbeat_at"),
                       inFlight: try row.decode("in_flight"))
        }
    }
}
