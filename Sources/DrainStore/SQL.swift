import Postgres

/// Every statement LogDrain sends, named and in one place. Parameters are always bound.
/// The worker's hot statements are prepared once per session.
enum SQL {
    enum Migrations {
        static let lock = "select pg_advisory_lock($1::bigint)"
        static let unlock = "select pg_advisory_unlock($1::bigint)"
        static let createTable = """
            create table if not exists schema_migrations (
                version text primary key,
                applied_at timestamptz not null default now())
            """
        static let applied = "select version from schema_migrations order by version"
        static let record = "insert into schema_migrations (version) values ($1)"
    }

    enum Maintenance {
        static let ensurePartitions = "select logdrain_ensure_partitions($1::int) as created"
        static let dropPartitions = "select logdrain_drop_partitions(make_interval(days => $1::int)) as dropped"
        static let forgetWorkers = "delete from workers where heartbeat_at < now() - make_interval(secs => $1::float8)"
    }

    enum Accounts {
        static let create = "select id, name, logdrain_rfc3339(created_at) as created_at from account_create($1)"
        static let list = "select id, name, logdrain_rfc3339(created_at) as created_at from accounts order by name"
        static let idByName = "select id from accounts where name = $1"
    }

    enum Members {
        static let add = "select member_add($1, $2, $3)"
        static let list = """
            select u.email, m.role, logdrain_rfc3339(m.created_at) as created_at
            from memberships m join users u on u.id = m.user_id
            where m.account_id = logdrain_account_id($1) order by u.email
            """
    }

    enum Drains {
        static let create = "select drain_create($1, $2, $3, $4, $5, $6::int, $7::boolean) as id"
        static let update = "select drain_update($1::uuid, $2, $3, $4, $5::int, $6)"
        static let enable = "select drain_enable($1::uuid, $2, $3::boolean)"
        static let disable = "select drain_disable($1::uuid, $2)"
        static let delete = "select drain_delete($1::uuid, $2)"
        static let precheckAccount = "select drain_precheck($1, $2, $3::boolean)"
        static let precheckDrain = "select drain_precheck($1::uuid, $2) as account"
        static let secretAndURL = "select url, secret from drains where id = $1::uuid"

        private static let statusColumns = """
            select id, account, name, url, enabled, disabled_reason, sampling_rate, consecutive_failures,
                   logdrain_rfc3339(last_success_at) as last_success_at,
                   logdrain_rfc3339(last_failure_at) as last_failure_at, last_error,
                   logdrain_rfc3339(created_at) as created_at, delivered_lines, lag_seconds,
                   pending_delivery_id, pending_attempts, pending_lines, lease_owner
            from drain_status
            """
        static let show = statusColumns + " where id = $1::uuid"
        static let listAll = statusColumns + " order by account, created_at"
        static let listAccount = statusColumns + " where account_id = logdrain_account_id($1) order by created_at"
        static let recentAttempts = """
            select delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, logdrain_rfc3339(at) as at
            from delivery_attempts where drain_id = $1::uuid order by at desc limit 10
            """
    }

    enum Audit {
        static let list = """
            select e.id, e.actor, e.action, e.drain_id, e.before::text as before, e.after::text as after,
                   logdrain_rfc3339(e.at) as at
            from audit_events e where e.account_id = logdrain_account_id($1) order by e.id
            """
    }

    enum Workers {
        static let heartbeat = PreparedStatement(name: "logdrain_heartbeat", sql: """
            insert into workers (name, host, pid, in_flight) values ($1, $2, $3::int, $4::int)
            on conflict (name) do update set host = excluded.host, pid = excluded.pid,
                heartbeat_at = now(), in_flight = excluded.in_flight
            """)
        static let register = """
            insert into workers (name, host, pid, in_flight) values ($1, $2, $3::int, 0)
            on conflict (name) do update set host = excluded.host, pid = excluded.pid,
                started_at = now(), heartbeat_at = now(), in_flight = 0
            """
        static let unregister = "delete from workers where name = $1"
        static let list = """
            select name, host, pid, logdrain_rfc3339(started_at) as started_at,
                   logdrain_rfc3339(heartbeat_at) as heartbeat_at, in_flight
            from workers where heartbeat_at > now() - make_interval(secs => $1::float8) order by name
            """
    }

    enum Ingest {
        static let copy = """
            copy logs (account_id, ts, message, level, fal_app_name, fal_app_id, fal_request_id, fal_job_id,
                       fal_endpoint, fal_node_id, fal_worker_id, fal_source, fal_isolate_source) from stdin
            """
    }

    enum Delivery {
        /// What a 2xx does to the pending batch (recordSuccess and advance): the cursor moves to
        /// its end, the new-drain filter goes once the cursor passes its snapshot, the counter
        /// resets.
        private static let batchDelivered = """
            cursor_xact = d.batch_end_xact, cursor_id = d.batch_end_id,
                    start_snapshot = case when d.batch_end_xact >= pg_snapshot_xmax(d.start_snapshot)
                                          then null else d.start_snapshot end,
                    delivered_lines = d.delivered_lines + d.batch_lines,
                    consecutive_failures = 0, last_success_at = now()
            """

        /// delivery_attempts is a ring of 20 slots per drain: a new attempt overwrites its slot.
        private static let historySlotOverwrite = """
            on conflict (drain_id, slot) do update set delivery_id = excluded.delivery_id, attempt = excluded.attempt,
                lines = excluded.lines, bytes = excluded.bytes, status = excluded.status, error = excluded.error,
                duration_ms = excluded.duration_ms, worker = excluded.worker, at = excluded.at
            """

        /// Claims up to $1 due drains for worker $2 with a lease of $3 seconds. Skips rows another
        /// worker is claiming right now; the token grows on every claim and fences later writes.
        static let claim = PreparedStatement(name: "logdrain_claim", sql: """
            with due as (
                select id from drains
                where enabled and next_due_at <= now()
                order by next_due_at
                limit $1::int
                for update skip locked
            )
            update drains d set lease_owner = $2, lease_token = d.lease_token + 1,
                lease_expires_at = now() + make_interval(secs => $3::float8),
                next_due_at = now() + make_interval(secs => $3::float8)
            from due where d.id = due.id
            returning d.id, d.account_id, d.url, d.secret, d.sampling_rate, d.lease_token,
                      d.consecutive_failures
            """)

        /// The next batch of each claimed drain ($1 ids). A pending batch is re-read exactly
        /// (cursor, batch_end]; a new one stops below the oldest running transaction, so a
        /// transaction that commits late is never skipped. No outer ORDER BY: sorting 5000 wide
        /// rows costs the database more than the caller's check that each drain's rows are in
        /// (xact_id, id) order. `ts` comes as ISO text in UTC (the worker's session settings).
        static let readBatches = PreparedStatement(name: "logdrain_readBatches", sql: """
            select d.id as drain_id, l.xact_id::text as xact_id, l.id,
                   l.ts as timestamp,
                   l.message, l.level, l.fal_app_name, l.fal_app_id, l.fal_request_id, l.fal_job_id,
                   l.fal_endpoint, l.fal_node_id, l.fal_worker_id, l.fal_source, l.fal_isolate_source
            from unnest($1::uuid[], $2::bigint[]) as v(id, token)
            join drains d on d.id = v.id and d.lease_token = v.token
            cross join lateral (
                select * from logs l
                where l.account_id = d.account_id
                  and (l.xact_id, l.id) > (d.cursor_xact, d.cursor_id)
                  and case when d.batch_end_xact is null
                           then l.xact_id < pg_snapshot_xmin(pg_current_snapshot())
                           else (l.xact_id, l.id) <= (d.batch_end_xact, d.batch_end_id) end
                  and (d.start_snapshot is null or l.ts >= d.start_ts
                       or not pg_visible_in_snapshot(l.xact_id, d.start_snapshot))
                order by l.xact_id, l.id
                limit case when d.batch_end_xact is null then d.sampling_rate else 5000 end
            ) l
            """)

        /// The batch after (after_xact, after_id) for each drain still leased with its token: read
        /// while the batch ending there is in flight, so a drain with a backlog never waits for
        /// the database. The positions come through unnest, like the cursor in readBatches, so
        /// even a generic plan probes the index from that position.
        static let readNextBatch = PreparedStatement(name: "logdrain_readNextBatch", sql: """
            select d.id as drain_id, l.xact_id::text as xact_id, l.id, l.ts as timestamp,
                   l.message, l.level, l.fal_app_name, l.fal_app_id, l.fal_request_id, l.fal_job_id,
                   l.fal_endpoint, l.fal_node_id, l.fal_worker_id, l.fal_source, l.fal_isolate_source
            from unnest($1::uuid[], $2::bigint[], $3::xid8[], $4::bigint[]) as v(id, token, after_xact, after_id)
            join drains d on d.id = v.id and d.lease_token = v.token
            cross join lateral (
                select * from logs l
                where l.account_id = d.account_id
                  and (l.xact_id, l.id) > (v.after_xact, v.after_id)
                  and l.xact_id < pg_snapshot_xmin(pg_current_snapshot())
                  and (d.start_snapshot is null or l.ts >= d.start_ts
                       or not pg_visible_in_snapshot(l.xact_id, d.start_snapshot))
                order by l.xact_id, l.id
                limit d.sampling_rate
            ) l
            """)

        /// A 2xx for the pending batch ($3) of a drain that has the next batch read already:
        /// records the success exactly as recordSuccess does, fixes the next batch (end $4/$5,
        /// $6 lines) as attempt 1 with a new delivery id, and extends the lease ($7 s) — one
        /// statement, so the drain keeps flowing without a new claim. Only while still enabled.
        static let advance = PreparedStatement(name: "logdrain_advance", sql: """
            with upd as (
                update drains d set \(batchDelivered),
                    batch_end_xact = $4::xid8, batch_end_id = $5::bigint, batch_lines = $6::int,
                    batch_delivery_id = gen_random_uuid(), batch_attempts = 1, last_attempt_at = now(),
                    lease_expires_at = now() + make_interval(secs => $7::float8),
                    next_due_at = now() + make_interval(secs => $7::float8),
                    attempt_seq = d.attempt_seq + 1
                where d.id = $1::uuid and d.lease_token = $2::bigint and d.batch_delivery_id = $3::uuid
                  and d.enabled and (d.batch_end_xact, d.batch_end_id) < ($4::xid8, $5::bigint)
                returning d.id, d.attempt_seq, d.batch_delivery_id, d.url, d.secret
            ), history as (
                insert into delivery_attempts (drain_id, slot, delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, at)
                select id, (attempt_seq % 20)::int, $3::uuid, $8::int, $9::int, $10::int, $11::int, null, $12::int, $13, now() from upd
                \(historySlotOverwrite)
            )
            select batch_delivery_id, url, secret from upd
            """)

        /// Fixes each batch's end at its first attempt (kept on retries) and counts the attempt.
        static let beginAttempts = PreparedStatement(name: "logdrain_beginAttempts", sql: """
            update drains d set
                batch_end_xact = coalesce(d.batch_end_xact, v.end_xact::xid8),
                batch_end_id = coalesce(d.batch_end_id, v.end_id),
                batch_lines = coalesce(d.batch_lines, v.lines),
                batch_delivery_id = coalesce(d.batch_delivery_id, gen_random_uuid()),
                batch_attempts = d.batch_attempts + 1,
                last_attempt_at = now()
            from unnest($1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::int[])
                as v(id, token, end_xact, end_id, lines)
            where d.id = v.id and d.lease_token = v.token
            returning d.id, d.batch_delivery_id, d.batch_attempts
            """)

        /// Drains with nothing to send: release the lease, due again after the interval ($3 s).
        static let releaseIdle = PreparedStatement(name: "logdrain_releaseIdle", sql: """
            update drains d set lease_owner = null, lease_expires_at = null,
                next_due_at = now() + make_interval(secs => $3::float8)
            from unnest($1::uuid[], $2::bigint[]) as v(id, token)
            where d.id = v.id and d.lease_token = v.token
            """)

        /// A 2xx: the cursor moves to the batch end, the counter resets, and the attempt is kept
        /// in the ring of recent attempts. All or nothing, and only under the same lease token.
        static let recordSuccess = PreparedStatement(name: "logdrain_recordSuccess", sql: """
            with upd as (
                update drains d set \(batchDelivered),
                    batch_end_xact = null, batch_end_id = null, batch_delivery_id = null,
                    batch_attempts = 0, batch_lines = null,
                    next_due_at = now() + make_interval(secs => $4::float8),
                    lease_owner = null, lease_expires_at = null, attempt_seq = d.attempt_seq + 1
                where d.id = $1::uuid and d.lease_token = $2::bigint and d.batch_delivery_id = $3::uuid
                returning d.id, d.attempt_seq, $3::uuid as delivery_id, $5::int as attempt, d.delivered_lines
            )
            insert into delivery_attempts (drain_id, slot, delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, at)
            select id, (attempt_seq % 20)::int, delivery_id, attempt, $6::int, $7::int, $8::int, null, $9::int, $10, now() from upd
            \(historySlotOverwrite)
            returning drain_id
            """)

        /// A failure: count it, keep the error, schedule the retry ($4 s), and on the 5th in a row
        /// disable the drain with reason 'failures' (audited) — in one statement.
        static let recordFailure = PreparedStatement(name: "logdrain_recordFailure", sql: """
            with upd as (
                update drains d set consecutive_failures = d.consecutive_failures + 1,
                    enabled = d.enabled and d.consecutive_failures + 1 < 5,
                    disabled_reason = case when d.enabled and d.consecutive_failures + 1 >= 5 then 'failures'
                                           else d.disabled_reason end,
                    last_failure_at = now(), last_error = $5,
                    next_due_at = now() + make_interval(secs => $4::float8),
                    lease_owner = null, lease_expires_at = null, attempt_seq = d.attempt_seq + 1
                where d.id = $1::uuid and d.lease_token = $2::bigint
                returning d.id, d.account_id, d.attempt_seq, d.enabled, d.consecutive_failures,
                          logdrain_drain_audit_view(d) as view
            ), history as (
                insert into delivery_attempts (drain_id, slot, delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, at)
                select id, (attempt_seq % 20)::int, $3::uuid, $6::int, $7::int, $8::int, $9::int, $5, $10::int, $11, now() from upd
                \(historySlotOverwrite)
            ), audit as (
                insert into audit_events (account_id, drain_id, actor, action, before, after)
                select account_id, id, 'worker:' || $11, 'drain.auto-disable', null, view from upd
                where not enabled and consecutive_failures = 5
            )
            select id, enabled, consecutive_failures from upd
            """)
    }
}
