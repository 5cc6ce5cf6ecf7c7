import DrainCore
import Postgres

/// Every statement LogDrain sends, named and in one place. Parameters are always bound.
/// The worker's hot statements are prepared once per session.
enum SQL {
    enum Migrations {
        static let lock = "select pg_advisory_xact_lock($1::bigint)"
        static let createTable = """
            create table if not exists schema_migrations (
                version text primary key,
                applied_at timestamptz not null default now())
            """
        static let applied = "select version from schema_migrations order by version"
        static let record = "insert into schema_migrations (version) values ($1)"
        static let quotedSchema = "select quote_ident(current_schema()) as schema"
    }

    enum Maintenance {
        static let ensurePartitions = "select logdrain_ensure_partitions($1::int) as created"
        /// Partitions ahead, retention behind, forgotten workers: one run under an advisory lock
        /// (sql/008_operations.sql). $1/$2 (nullable) become the saved settings; $3: who ran it.
        static let run = """
            select created, dropped, days_ahead, retention_days from logdrain_maintain($1::int, $2::int, $3)
            """
        /// A worker's hourly ask: a row when it ran the upkeep, none when it was not due.
        static let runIfDue = """
            select created, dropped, days_ahead, retention_days from logdrain_maintain_if_due($1)
            """
        /// Held by every upkeep run; `migrate` takes it before creating the coming partitions.
        static let upkeepLock = "select logdrain_lock_upkeep(true)"
    }

    enum Accounts {
        static let create = "select id, name, logdrain_rfc3339(created_at) as created_at from account_create($1)"
        static let list = "select id, name, logdrain_rfc3339(created_at) as created_at from accounts order by name"
        /// Through a SECURITY DEFINER function: a producer (`ingest`) maps a name to the id it
        /// writes without reading the accounts table. Unknown names come back NULL.
        static let idByName = "select logdrain_account_id_or_null($1) as id"
    }

    enum Members {
        static let add = "select member_add($1, $2, $3, $4)"
        static let list = """
            select u.email, m.role, logdrain_rfc3339(m.created_at) as created_at, u.db_role
            from memberships m join users u on u.id = m.user_id
            where m.account_id = logdrain_account_id($1) order by u.email
            """
    }

    /// Sign-in tokens and dashboard sessions (sql/007_tokens.sql); only hashes are bound.
    enum Tokens {
        static let create = "select logdrain_rfc3339(token_create($1, $2, $3, $4)) as created_at"
        static let revoke = "select token_revoke($1, $2) as revoked"
        static let lookup = "select token_id, token_hash, account, email, role, stale from logdrain_token_lookup($1)"
        static let used = "select logdrain_token_used($1::bigint)"
        static let createSession = "select logdrain_session_create($1::bigint, $2, $3, $4::int) as created"
        static let session = "select token_id, account, email, role, csrf_token from logdrain_session_lookup($1)"
        static let deleteSession = "select logdrain_session_delete($1)"
    }

    enum Drains {
        static let create = "select drain_create($1, $2, $3, $4, $5, $6::int, $7::boolean) as id"
        static let update = "select drain_update($1::uuid, $2, $3, $4, $5::int, $6)"
        static let enable = "select drain_enable($1::uuid, $2, $3::boolean)"
        static let disable = "select drain_disable($1::uuid, $2)"
        static let delete = "select drain_delete($1::uuid, $2)"
        static let precheckAccount = "select drain_precheck($1, $2, $3::boolean)"
        static let precheckDrain = "select drain_precheck($1::uuid, $2) as account"
        static let secretAndURL = "select url, secret from drain_endpoint($1::uuid)"
        static let allSecrets = "select id, secret from drains order by id"
        static let replaceSecret = "select logdrain_replace_secret($1::uuid, $2, $3) as replaced"

        private static let statusColumns = """
            select id, account, name, url, enabled, disabled_reason, sampling_rate, consecutive_failures,
                   logdrain_rfc3339(last_success_at) as last_success_at,
                   logdrain_rfc3339(last_failure_at) as last_failure_at, last_error,
                   logdrain_rfc3339(created_at) as created_at, delivered_lines, lag_seconds,
                   pending_delivery_id, pending_attempts, pending_lines, lease_owner,
                   gap_lines, logdrain_rfc3339(last_gap_at) as last_gap_at
            from drain_status
            """
        static let show = statusColumns + " where id = $1::uuid"
        static let listAll = statusColumns + " order by account, created_at"
        static let listAccount = statusColumns + " where account_id = logdrain_account_id($1) order by created_at"
        static let recentAttempts = """
            select delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, logdrain_rfc3339(at) as at
            from drain_attempts where drain_id = $1::uuid order by at desc limit 10
            """
    }

    enum Audit {
        static let list = """
            select e.id, e.actor, e.action, e.drain_id, e.before::text as before, e.after::text as after,
                   logdrain_rfc3339(e.at) as at
            from account_audit e where e.account_id = logdrain_account_id($1) order by e.id
            """
    }

    enum Workers {
        /// The delivery watermark as the worker's reads see it: the oldest running transaction
        /// id (xmin) and the next one (xmax); equal when nothing runs. The worker times how long
        /// xmin stays put (needs no privilege, and counts exactly what holds deliveries back:
        /// transactions with an id, prepared ones included).
        static let watermark = PreparedStatement(name: "logdrain_watermark", sql: """
            select pg_snapshot_xmin(s)::text as xmin, pg_snapshot_xmax(s)::text as xmax from pg_current_snapshot() s
            """)
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
        static let ping = "select 1"
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
        /// `pending_lines` is the pending batch's size (its re-read must find exactly that many);
        /// `filtering` says the new-drain rule (§2.8) still filters this drain's rows. Drains in
        /// $4 are left to other workers (this one cannot decrypt their secrets).
        static let claim = WorkerFunction(name: "logdrain_worker_claim", arguments: ["int", "text", "float8", "uuid[]"],
                                                returns: "table (id uuid, account_id bigint, url text, secret text, sampling_rate integer, lease_token bigint, consecutive_failures integer, pending_lines integer, filtering boolean)", body: """
            with due as (
                select id from drains
                where enabled and next_due_at <= now() and not (id = any($4::uuid[]))
                order by next_due_at
                limit $1::int
                for update skip locked
            )
            update drains d set lease_owner = $2, lease_token = d.lease_token + 1,
                lease_expires_at = now() + make_interval(secs => $3::float8),
                next_due_at = now() + make_interval(secs => $3::float8)
            from due where d.id = due.id
            returning d.id, d.account_id, d.url, d.secret, d.sampling_rate, d.lease_token,
                      d.consecutive_failures, d.batch_lines as pending_lines,
                      d.start_snapshot is not null as filtering
            """)

        /// How many rows a read of a drain under the new-drain filter examines at most: the
        /// filter never makes one statement walk an account's whole history (§2.12).
        static let filterScanRows = 20_000

        /// Rows of one drain's stream after a position ("after"), in (xact_id, id) order:
        /// the pending batch's range (cursor, batch_end] when there is one, else rows below
        /// the oldest running transaction (a transaction that commits late is never skipped).
        /// The inner LIMIT bounds the rows examined, the filter applies the new-drain rule, and
        /// `before` (bytes of the kept rows ahead of this one) stops the read near the 4 MiB
        /// byte cap, which the encoder then applies exactly (§2.13).
        private static func stream(after: String, pendingEnd: Bool) -> String {
            let upperBound = pendingEnd
                ? """
                  case when d.batch_end_xact is null then l.xact_id < pg_snapshot_xmin(pg_current_snapshot())
                       else (l.xact_id, l.id) <= (d.batch_end_xact, d.batch_end_id) end
                  """
                : "l.xact_id < pg_snapshot_xmin(pg_current_snapshot())"
            let lineLimit = pendingEnd ? "case when d.batch_end_xact is null then d.sampling_rate else 5000 end" : "d.sampling_rate"
            return """
                select * from (
                    -- size is an int (a row is under 1 GiB), so the running sum is a bigint:
                    -- summing bigints would accumulate in numeric, a fifth of the read's time.
                    select k.*, sum(k.size) over (order by k.xact_id, k.id rows unbounded preceding) - k.size as before
                    from (
                        select s.* from (
                            select l.xact_id, l.id, l.ts, l.message, l.level, l.fal_app_name, l.fal_app_id,
                                   l.fal_request_id, l.fal_job_id, l.fal_endpoint, l.fal_node_id, l.fal_worker_id,
                                   l.fal_source, l.fal_isolate_source,
                                   octet_length(l.message) + octet_length(l.level)
                                     + coalesce(octet_length(l.fal_app_name), 0) + coalesce(octet_length(l.fal_app_id), 0)
                                     + coalesce(octet_length(l.fal_request_id), 0) + coalesce(octet_length(l.fal_job_id), 0)
                                     + coalesce(octet_length(l.fal_endpoint), 0) + coalesce(octet_length(l.fal_node_id), 0)
                                     + coalesce(octet_length(l.fal_worker_id), 0) + coalesce(octet_length(l.fal_source), 0)
                                     + coalesce(octet_length(l.fal_isolate_source), 0) as size
                            from logs l
                            where l.account_id = d.account_id
                              and (l.xact_id, l.id) > \(after)
                              and \(upperBound)
                            order by l.xact_id, l.id
                            limit case when d.start_snapshot is null then \(lineLimit) else \(filterScanRows) end
                        ) s
                        where d.start_snapshot is null or s.ts >= d.start_ts
                              or not pg_visible_in_snapshot(s.xact_id, d.start_snapshot)
                        order by s.xact_id, s.id
                        limit \(lineLimit)
                    ) k
                ) w
                where w.before < \(WireLimits.maxBatchBytes)
                """
        }

        private static let batchColumns = """
            d.id as drain_id, b.xact_id::text as xact_id, b.id, b.ts as timestamp,
                   b.message, b.level, b.fal_app_name, b.fal_app_id, b.fal_request_id, b.fal_job_id,
                   b.fal_endpoint, b.fal_node_id, b.fal_worker_id, b.fal_source, b.fal_isolate_source
            """

        /// The next batch of each claimed drain ($1 ids, $2 tokens): a pending batch is re-read
        /// exactly, a new one starts after the cursor. A drain disabled since its claim is read
        /// too (so its pending batch is never mistaken for one whose rows are gone); beginning
        /// its attempt then refuses it. No outer ORDER BY:
        /// the caller checks each drain's rows are in (xact_id, id) order. `ts` comes as ISO
        /// text in UTC (the worker's session settings).
        static let readBatches = PreparedStatement(name: "logdrain_readBatches_v2", sql: """
            select \(batchColumns)
            from unnest($1::uuid[], $2::bigint[]) as v(id, token)
            join drains d on d.id = v.id and d.lease_token = v.token
            cross join lateral (\(stream(after: "(d.cursor_xact, d.cursor_id)", pendingEnd: true))) b
            """)

        /// The batch after (after_xact, after_id) for each drain still leased with its token and
        /// not under the new-drain filter: read while the batch ending there is in flight, so a
        /// drain with a backlog never waits for the database.
        static let readNextBatch = PreparedStatement(name: "logdrain_readNextBatch_v2", sql: """
            select \(batchColumns)
            from unnest($1::uuid[], $2::bigint[], $3::xid8[], $4::bigint[]) as v(id, token, after_xact, after_id)
            join drains d on d.id = v.id and d.lease_token = v.token and d.enabled and d.start_snapshot is null
            cross join lateral (\(stream(after: "(v.after_xact, v.after_id)", pendingEnd: false))) b
            """)

        // MARK: reads on a hot standby (`--read-database-url`)

        /// What a read needs of each leased drain, from the primary: the standby's copy of
        /// `drains` may lag, the cursor and the pending batch must not.
        static let readState = PreparedStatement(name: "logdrain_readState", sql: """
            select d.id, d.account_id, d.cursor_xact::text as cursor_xact, d.cursor_id,
                   d.batch_end_xact::text as batch_end_xact, d.batch_end_id, d.sampling_rate,
                   d.start_snapshot::text as start_snapshot, d.start_ts
            from unnest($1::uuid[], $2::bigint[]) as v(id, token)
            join drains d on d.id = v.id and d.lease_token = v.token
            """)

        /// `readBatches` on the standby, for the drain states given ($1..$9, from `readState`),
        /// reading below the standby's own watermark: it holds only transactions it has replayed.
        static let readBatchesOnStandby = PreparedStatement(name: "logdrain_readBatchesOnStandby", sql: """
            select \(batchColumns)
            from unnest($1::uuid[], $2::bigint[], $3::xid8[], $4::bigint[], $5::xid8[], $6::bigint[], $7::int[],
                        $8::pg_snapshot[], $9::timestamptz[])
                 as d(id, account_id, cursor_xact, cursor_id, batch_end_xact, batch_end_id, sampling_rate, start_snapshot, start_ts)
            cross join lateral (\(stream(after: "(d.cursor_xact, d.cursor_id)", pendingEnd: true))) b
            """)

        /// Of the pending batches given ($1 drain ids, $2 batch ends), those the standby has not
        /// yet replayed to their end: re-reading them there now would find lines missing.
        static let notReplayedOnStandby = PreparedStatement(name: "logdrain_notReplayedOnStandby", sql: """
            select v.id::text as id from unnest($1::uuid[], $2::xid8[]) as v(id, batch_end_xact)
            where v.batch_end_xact >= pg_snapshot_xmin(pg_current_snapshot())
            """)

        /// `readNextBatch` on the standby ($1 ids, $2 accounts, $3/$4 the batch in flight's end,
        /// $5 sampling rates): only drains the new-drain filter no longer applies to.
        static let readNextBatchOnStandby = PreparedStatement(name: "logdrain_readNextBatchOnStandby", sql: """
            select \(batchColumns)
            from (select u.*, null::pg_snapshot as start_snapshot, null::timestamptz as start_ts,
                         null::xid8 as batch_end_xact, null::bigint as batch_end_id
                  from unnest($1::uuid[], $2::bigint[], $3::xid8[], $4::bigint[], $5::int[])
                       as u(id, account_id, after_xact, after_id, sampling_rate)) d
            cross join lateral (\(stream(after: "(d.after_xact, d.after_id)", pendingEnd: false))) b
            """)

        /// The new-drain rule's progress (§2.12): moves the cursor of a drain without a pending
        /// batch over the rows the filter drops, up to the first row it keeps, examining at most
        /// $3 rows. Once it has seen every row below the oldest running transaction and that is
        /// past the creation snapshot, no later row can be filtered: the filter goes. Returns
        /// how many rows it passed and whether it stopped at a kept row.
        static let skipFiltered = WorkerFunction(name: "logdrain_worker_skip_filtered", arguments: ["uuid", "bigint", "int"],
                                                returns: "table (passed bigint, found_kept boolean, scanned bigint, updated boolean)", body: """
            with d as (
                select * from drains where id = $1::uuid and lease_token = $2::bigint and enabled
                  and start_snapshot is not null and batch_end_xact is null
            ), scanned as materialized (
                select l.xact_id, l.id,
                       (l.ts >= d.start_ts or not pg_visible_in_snapshot(l.xact_id, d.start_snapshot)) as keep
                from d cross join lateral (
                    select * from logs l
                    where l.account_id = d.account_id and (l.xact_id, l.id) > (d.cursor_xact, d.cursor_id)
                      and l.xact_id < pg_snapshot_xmin(pg_current_snapshot())
                    order by l.xact_id, l.id limit $3::int
                ) l
            ), first_kept as (
                select xact_id, id from scanned where keep order by xact_id, id limit 1
            ), passed as (
                select s.xact_id, s.id from scanned s
                where not exists (select 1 from first_kept k where (s.xact_id, s.id) >= (k.xact_id, k.id))
            ), target as (
                select xact_id, id from passed order by xact_id desc, id desc limit 1
            ), upd as (
                update drains dr set
                    cursor_xact = coalesce((select xact_id from target), dr.cursor_xact),
                    cursor_id = coalesce((select id from target), dr.cursor_id),
                    start_snapshot = case
                        when not exists (select 1 from first_kept)
                             and (select count(*) from scanned) < $3::int
                             and pg_snapshot_xmin(pg_current_snapshot()) >= pg_snapshot_xmax(dr.start_snapshot)
                        then null else dr.start_snapshot end
                from d where dr.id = d.id and dr.lease_token = $2::bigint and dr.batch_end_xact is null
                returning dr.id
            )
            select (select count(*) from passed) as passed, exists (select 1 from first_kept) as found_kept,
                   (select count(*) from scanned) as scanned, exists (select 1 from upd) as updated
            """)

        /// A pending batch whose rows are gone (retention, or by hand): drop it, count the
        /// missing lines as the drain's gap (§2.14), and let the next read start a new batch.
        static let dropPendingBatch = WorkerFunction(name: "logdrain_worker_drop_pending_batch", arguments: ["uuid", "bigint", "int"],
                                                returns: "void", body: """
            update drains d set batch_end_xact = null, batch_end_id = null, batch_delivery_id = null,
                batch_attempts = 0, batch_lines = null,
                gap_lines = d.gap_lines + $3::int, last_gap_at = now()
            where d.id = $1::uuid and d.lease_token = $2::bigint and d.batch_end_xact is not null and d.enabled
            """)

        /// A 2xx for the pending batch ($3) of a drain that has the next batch read already:
        /// records the success exactly as recordSuccess does, fixes the next batch (end $4/$5,
        /// $6 lines) as attempt 1 with a new delivery id, and extends the lease ($7 s) — one
        /// statement, so the drain keeps flowing without a new claim. Only while the drain is
        /// enabled and the read-ahead batch fits its current sampling rate (§2.8 of the issue:
        /// a lowered rate applies to a batch already read ahead).
        static let advance = WorkerFunction(name: "logdrain_worker_advance", arguments: ["uuid", "bigint", "uuid", "xid8", "bigint", "int", "float8", "int", "int", "bigint", "int", "int", "text"],
                                                returns: "table (batch_delivery_id uuid, url text, secret text, config_version bigint)", body: """
            with upd as (
                update drains d set \(batchDelivered),
                    batch_end_xact = $4::xid8, batch_end_id = $5::bigint, batch_lines = $6::int,
                    batch_delivery_id = gen_random_uuid(), batch_attempts = 1, last_attempt_at = now(),
                    lease_expires_at = now() + make_interval(secs => $7::float8),
                    next_due_at = now() + make_interval(secs => $7::float8),
                    attempt_seq = d.attempt_seq + 1
                where d.id = $1::uuid and d.lease_token = $2::bigint and d.batch_delivery_id = $3::uuid
                  and d.enabled and $6::int <= d.sampling_rate and d.start_snapshot is null
                  and (d.batch_end_xact, d.batch_end_id) < ($4::xid8, $5::bigint)
                returning d.id, d.attempt_seq, d.batch_delivery_id, d.url, d.secret, d.config_version
            ), history as (
                insert into delivery_attempts (drain_id, slot, delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, at)
                select id, (attempt_seq % 20)::int, $3::uuid, $8::int, $9::int, $10::bigint, $11::int, null, $12::int, $13, now() from upd
                \(historySlotOverwrite)
            )
            select batch_delivery_id, url, secret, config_version from upd
            """)

        /// Fixes each batch's end at its first attempt (kept on retries) and counts the attempt,
        /// for drains still leased and enabled: a drain disabled or deleted since its claim sends
        /// nothing new. Returns the URL, secret and configuration version to send with now.
        static let beginAttempts = WorkerFunction(name: "logdrain_worker_begin_attempts", arguments: ["uuid[]", "bigint[]", "text[]", "bigint[]", "int[]"],
                                                returns: "table (id uuid, batch_delivery_id uuid, batch_attempts integer, url text, secret text, config_version bigint)", body: """
            update drains d set
                batch_end_xact = coalesce(d.batch_end_xact, v.end_xact::xid8),
                batch_end_id = coalesce(d.batch_end_id, v.end_id),
                batch_lines = coalesce(d.batch_lines, v.lines),
                batch_delivery_id = coalesce(d.batch_delivery_id, gen_random_uuid()),
                batch_attempts = d.batch_attempts + 1,
                last_attempt_at = now()
            from unnest($1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::int[])
                as v(id, token, end_xact, end_id, lines)
            where d.id = v.id and d.lease_token = v.token and d.enabled
            returning d.id, d.batch_delivery_id, d.batch_attempts, d.url, d.secret, d.config_version
            """)

        /// Drains with nothing to send: release the lease, due again after the interval ($3 s).
        static let releaseIdle = WorkerFunction(name: "logdrain_worker_release", arguments: ["uuid[]", "bigint[]", "float8"],
                                                returns: "void", body: """
            update drains d set lease_owner = null, lease_expires_at = null,
                next_due_at = now() + make_interval(secs => $3::float8)
            from unnest($1::uuid[], $2::bigint[]) as v(id, token)
            where d.id = v.id and d.lease_token = v.token
            """)

        /// A 2xx: the cursor moves to the batch end, the counter resets, and the attempt is kept
        /// in the ring of recent attempts. All or nothing, and only under the same lease token.
        static let recordSuccess = WorkerFunction(name: "logdrain_worker_record_success", arguments: ["uuid", "bigint", "uuid", "float8", "int", "int", "bigint", "int", "int", "text"],
                                                returns: "table (drain_id uuid)", body: """
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
            select id, (attempt_seq % 20)::int, delivery_id, attempt, $6::int, $7::bigint, $8::int, null, $9::int, $10, now() from upd
            \(historySlotOverwrite)
            returning drain_id
            """)

        /// The worker's writes to drains, as SECURITY DEFINER functions (`migrate` creates them).
        static let workerFunctions = [claim, skipFiltered, dropPendingBatch, advance, beginAttempts, releaseIdle,
                                      recordSuccess, recordFailure]

        /// A failure: keep the error, schedule the retry ($4 s), and count it — only while the
        /// drain is enabled and still has the URL and secret it was sent with ($12, §2.15); on
        /// the 5th in a row disable the drain with reason 'failures' (audited). One statement.
        /// A failure that does not count is kept in the history only, and the retry is due at
        /// once (with the new configuration).
        static let recordFailure = WorkerFunction(name: "logdrain_worker_record_failure", arguments: ["uuid", "bigint", "uuid", "float8", "text", "int", "int", "bigint", "int", "int", "text", "bigint"],
                                                returns: "table (id uuid, enabled boolean, consecutive_failures integer, auto_disabled boolean)", body: """
            with cur as (
                select d.id, d.enabled and d.config_version = $12::bigint as counts,
                       d.consecutive_failures + 1 >= \(FailurePolicy.disableAfter) as last_straw
                from drains d where d.id = $1::uuid and d.lease_token = $2::bigint
                  and d.lease_owner is not null  -- once only: the first write releases the lease
                for update
            ), upd as (
                update drains d set
                    consecutive_failures = d.consecutive_failures + case when cur.counts then 1 else 0 end,
                    enabled = d.enabled and not (cur.counts and cur.last_straw),
                    disabled_reason = case when cur.counts and cur.last_straw then 'failures' else d.disabled_reason end,
                    last_failure_at = case when cur.counts then now() else d.last_failure_at end,
                    last_error = case when cur.counts then $5 else d.last_error end,
                    next_due_at = now() + case when cur.counts then make_interval(secs => $4::float8) else interval '0' end,
                    lease_owner = null, lease_expires_at = null, attempt_seq = d.attempt_seq + 1
                from cur where d.id = cur.id
                returning d.id, d.account_id, d.attempt_seq, d.enabled, d.consecutive_failures,
                          cur.counts and cur.last_straw as auto_disabled, logdrain_drain_audit_view(d) as view
            ), history as (
                insert into delivery_attempts (drain_id, slot, delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, at)
                select id, (attempt_seq % 20)::int, $3::uuid, $6::int, $7::int, $8::bigint, $9::int, $5, $10::int, $11, now() from upd
                \(historySlotOverwrite)
            ), audit as (
                insert into audit_events (account_id, drain_id, actor, action, before, after)
                select account_id, id, 'worker:' || $11, 'drain.auto-disable', null, view from upd
                where auto_disabled
            )
            select id, enabled, consecutive_failures, auto_disabled from upd
            """)
    }
}
