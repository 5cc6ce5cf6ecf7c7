import DrainCore
internal import Postgres

/// The worker's writes to drains, each a SECURITY DEFINER function (DESIGN §5: the worker role
/// cannot UPDATE `drains` directly; it may only call these) that `migrate` creates from the
/// body here, and a typed statement that calls it. Arguments are named (`p_...`) in the body
/// and bound by name in the call, so nothing is counted by position.
extension SQL.Delivery {
    /// What a 2xx does to the pending batch (RecordSuccesses and Advance): the cursor moves to
    /// its end, the new-drain filter goes once the cursor passes its snapshot, the counter
    /// resets.
    private static let batchDelivered = """
        cursor_xact = d.batch_end_xact, cursor_id = d.batch_end_id,
                start_snapshot = case when d.batch_end_xact >= pg_snapshot_xmax(d.start_snapshot)
                                      then null else d.start_snapshot end,
                delivered_lines = d.delivered_lines + d.batch_lines,
                consecutive_failures = 0, last_success_at = now()
        """

    /// Every transaction id below the creation snapshot's xmax has ended, so this statement's
    /// snapshot sees every row the new-drain filter of drain `alias` could drop (§2.8).
    private static func creationTransactionsEnded(_ alias: String) -> String {
        "pg_snapshot_xmax(\(alias).start_snapshot) <= pg_snapshot_xmin(pg_current_snapshot())"
    }

    /// delivery_attempts is a ring of `Limits.attemptHistorySlots` slots per drain: a new
    /// attempt overwrites its slot.
    private static let historySlot = "(attempt_seq % \(Limits.attemptHistorySlots))::int"
    private static let historyInsert =
        "insert into delivery_attempts (drain_id, slot, delivery_id, attempt, lines, bytes, status, error, duration_ms, worker, at)"
    private static let historySlotOverwrite = """
        on conflict (drain_id, slot) do update set delivery_id = excluded.delivery_id, attempt = excluded.attempt,
            lines = excluded.lines, bytes = excluded.bytes, status = excluded.status, error = excluded.error,
            duration_ms = excluded.duration_ms, worker = excluded.worker, at = excluded.at
        """

    /// Claims up to `p_limit` due drains for `p_worker` with a lease of `p_lease_seconds`.
    /// Skips rows another worker is claiming right now; the token grows on every claim and
    /// fences later writes. `pending_lines` is the pending batch's size (its re-read must find
    /// exactly that many); `filtering` says the new-drain rule (§2.8) still filters this
    /// drain's rows. Drains in `p_excluding` are left to other workers (this one cannot
    /// decrypt their secrets, or holds them already).
    struct Claim: WorkerCall {
        static let function = WorkerFunction(
            name: "logdrain_worker_claim",
            arguments: [("p_limit", "int"), ("p_worker", "text"), ("p_lease_seconds", "float8"), ("p_excluding", "uuid[]")],
            returns: "table (id uuid, account_id bigint, url text, secret text, sampling_rate integer, lease_token bigint, consecutive_failures integer, pending_lines integer, filtering boolean)",
            body: """
            with due as (
                select id from drains
                where enabled and next_due_at <= now() and not (id = any(p_excluding))
                order by next_due_at
                limit p_limit
                for update skip locked
            )
            update drains d set lease_owner = p_worker, lease_token = d.lease_token + 1,
                lease_expires_at = now() + make_interval(secs => p_lease_seconds),
                next_due_at = now() + make_interval(secs => p_lease_seconds)
            -- Through the primary key: joined to "due", the planner (which cannot see p_limit)
            -- expects a thousand rows and hashes a scan of every drain.
            where d.id = any (array(select due.id from due))
            returning d.id, d.account_id, d.url, d.secret, d.sampling_rate, d.lease_token,
                      d.consecutive_failures, d.batch_lines as pending_lines,
                      d.start_snapshot is not null as filtering
            """)
        var limit: Int
        var worker: String
        var leaseSeconds: Double
        var excluding: [String]
        var arguments: [String: any PostgresParameter] {
            ["p_limit": limit, "p_worker": worker, "p_lease_seconds": leaseSeconds, "p_excluding": PostgresArray(excluding)]
        }

        func decodeRow(_ row: PostgresRow) throws -> ClaimedDrain {
            ClaimedDrain(id: try row.decode("id"), accountID: try row.decode("account_id"), url: try row.decode("url"),
                         secret: try row.decode("secret"), samplingRate: try row.decode("sampling_rate"),
                         leaseToken: try row.decode("lease_token"),
                         consecutiveFailures: try row.decode("consecutive_failures"),
                         pendingLines: try row.decode("pending_lines", as: Int?.self),
                         filtering: try row.decode("filtering"))
        }
    }

    /// New-drain filters that have nothing left to drop (§2.8), ended for drains just claimed,
    /// in one statement: the filter drops only rows visible in the creation snapshot, so their
    /// `xact_id` is below its xmax; once that xmax is at most this statement's xmin (the rule
    /// `SkipFiltered` ends a filter by), this statement sees all of them. With none past the
    /// cursor the filter goes, without a skip statement per drain: a new account's drains, or
    /// many drains made at once. Not with a pending batch, whose re-read must drop what its
    /// first read dropped; not under a lost lease (an `enable --skip-backlog` since the claim
    /// moves the token and sets a new snapshot). Returns the drains whose filter ended. Apart
    /// from the claim, so that the claim's plan never touches `logs` and its partitions.
    struct EndNeedlessFilters: WorkerCall {
        static let function = WorkerFunction(
            name: "logdrain_worker_end_needless_filters",
            arguments: [("p_drain_ids", "uuid[]"), ("p_lease_tokens", "bigint[]")],
            returns: "table (drain_id uuid)",
            body: """
            update drains d set start_snapshot = null
            from unnest(p_drain_ids, p_lease_tokens) as v(id, token)
            where d.id = v.id and d.lease_token = v.token and d.enabled
              and d.start_snapshot is not null and d.batch_end_xact is null
              and \(creationTransactionsEnded("d"))
              and not exists (select from logs l
                              where l.account_id = d.account_id
                                and (l.xact_id, l.id) > (d.cursor_xact, d.cursor_id)
                                and l.xact_id < pg_snapshot_xmax(d.start_snapshot))
            returning d.id
            """)
        var drains: [ClaimedDrain]
        var arguments: [String: any PostgresParameter] {
            ["p_drain_ids": PostgresArray(drains.map(\.id)), "p_lease_tokens": PostgresArray(drains.map(\.leaseToken))]
        }

        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("drain_id") }
    }

    /// The new-drain rule's progress (§2.12): moves the cursor of a drain without a pending
    /// batch over the rows the filter drops, up to the first row it keeps, examining at most
    /// `p_scan_limit` rows. Once it has seen every row below the oldest running transaction
    /// and that is past the creation snapshot, no later row can be filtered: the filter goes.
    /// Returns how many rows it passed and whether it stopped at a kept row.
    struct SkipFiltered: WorkerCall {
        static let function = WorkerFunction(
            name: "logdrain_worker_skip_filtered",
            arguments: [("p_drain_id", "uuid"), ("p_lease_token", "bigint"), ("p_scan_limit", "int")],
            returns: "table (passed bigint, found_kept boolean, scanned bigint, updated boolean)",
            body: """
            with d as (
                select * from drains where id = p_drain_id and lease_token = p_lease_token and enabled
                  and start_snapshot is not null and batch_end_xact is null
            ), scanned as materialized (
                select l.xact_id, l.id,
                       (l.ts >= d.start_ts or not pg_visible_in_snapshot(l.xact_id, d.start_snapshot)) as keep
                from d cross join lateral (
                    select * from logs l
                    where l.account_id = d.account_id and (l.xact_id, l.id) > (d.cursor_xact, d.cursor_id)
                      and l.xact_id < pg_snapshot_xmin(pg_current_snapshot())
                    order by l.xact_id, l.id limit p_scan_limit
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
                             and (select count(*) from scanned) < p_scan_limit
                             and \(creationTransactionsEnded("dr"))
                        then null else dr.start_snapshot end
                from d where dr.id = d.id and dr.lease_token = p_lease_token and dr.batch_end_xact is null
                returning dr.id
            )
            select (select count(*) from passed) as passed, exists (select 1 from first_kept) as found_kept,
                   (select count(*) from scanned) as scanned, exists (select 1 from upd) as updated
            """)
        var drainID: String
        var leaseToken: Int64
        var scanLimit: Int
        var arguments: [String: any PostgresParameter] { ["p_drain_id": drainID, "p_lease_token": leaseToken, "p_scan_limit": scanLimit] }

        func decodeRow(_ row: PostgresRow) throws -> FilterSkip {
            let scanned: Int = try row.decode("scanned")
            let foundKept: Bool = try row.decode("found_kept")
            return FilterSkip(passed: try row.decode("passed"), moreToScan: !foundKept && scanned >= scanLimit)
        }
    }

    /// A pending batch whose rows are gone (retention, or by hand): drop it, count the
    /// missing lines as the drain's gap (§2.14), and let the next read start a new batch.
    struct DropPendingBatch: WorkerCall {
        typealias Row = Void
        static let function = WorkerFunction(
            name: "logdrain_worker_drop_pending_batch",
            arguments: [("p_drain_id", "uuid"), ("p_lease_token", "bigint"), ("p_missing_lines", "int")],
            returns: "void",
            body: """
            update drains d set batch_end_xact = null, batch_end_id = null, batch_delivery_id = null,
                batch_attempts = 0, batch_lines = null,
                gap_lines = d.gap_lines + p_missing_lines, last_gap_at = now()
            where d.id = p_drain_id and d.lease_token = p_lease_token and d.batch_end_xact is not null and d.enabled
            """)
        var drainID: String
        var leaseToken: Int64
        var missingLines: Int
        var arguments: [String: any PostgresParameter] {
            ["p_drain_id": drainID, "p_lease_token": leaseToken, "p_missing_lines": missingLines]
        }
    }

    /// The attempt's record in the ring of recent attempts, as the outcome statements bind it.
    struct AttemptFacts: Sendable {
        var deliveryID: String
        var attempt: Int
        var lines: Int
        var bytes: Int
        var status: Int?
        var milliseconds: Int

        var arguments: [String: any PostgresParameter] {
            ["p_delivery_id": deliveryID, "p_attempt": attempt, "p_lines": lines, "p_bytes": bytes, "p_status": status,
             "p_duration_ms": milliseconds]
        }
    }

    /// A 2xx for the pending batch of a drain that has the next batch read already: records
    /// the success exactly as `RecordSuccesses` does, fixes the next batch as attempt 1 with a
    /// new delivery id, and extends the lease — one statement, so the drain keeps flowing
    /// without a new claim. Only while the drain is enabled and the read-ahead batch fits its
    /// current sampling rate (a lowered rate applies to a batch already read ahead).
    struct Advance: WorkerCall {
        static let function = WorkerFunction(
            name: "logdrain_worker_advance",
            arguments: [("p_drain_id", "uuid"), ("p_lease_token", "bigint"), ("p_delivery_id", "uuid"),
                        ("p_next_end_xact", "xid8"), ("p_next_end_id", "bigint"), ("p_next_lines", "int"),
                        ("p_lease_seconds", "float8"), ("p_attempt", "int"), ("p_lines", "int"), ("p_bytes", "bigint"),
                        ("p_status", "int"), ("p_duration_ms", "int"), ("p_worker", "text")],
            returns: "table (batch_delivery_id uuid, url text, secret text, config_version bigint)",
            body: """
            with upd as (
                update drains d set \(batchDelivered),
                    batch_end_xact = p_next_end_xact, batch_end_id = p_next_end_id, batch_lines = p_next_lines,
                    batch_delivery_id = gen_random_uuid(), batch_attempts = 1, last_attempt_at = now(),
                    lease_expires_at = now() + make_interval(secs => p_lease_seconds),
                    next_due_at = now() + make_interval(secs => p_lease_seconds),
                    attempt_seq = d.attempt_seq + 1
                where d.id = p_drain_id and d.lease_token = p_lease_token and d.batch_delivery_id = p_delivery_id
                  and d.enabled and p_next_lines <= d.sampling_rate and d.start_snapshot is null
                  and (d.batch_end_xact, d.batch_end_id) < (p_next_end_xact, p_next_end_id)
                returning d.id, d.attempt_seq, d.batch_delivery_id, d.url, d.secret, d.config_version
            ), history as (
                \(historyInsert)
                select id, \(historySlot), p_delivery_id, p_attempt, p_lines, p_bytes, p_status, null, p_duration_ms, p_worker, now() from upd
                \(historySlotOverwrite)
            )
            select batch_delivery_id, url, secret, config_version from upd
            """)
        var drainID: String
        var leaseToken: Int64
        var next: Batch
        var leaseSeconds: Double
        var sent: AttemptFacts
        var worker: String
        var arguments: [String: any PostgresParameter] {
            sent.arguments.merging(["p_drain_id": drainID, "p_lease_token": leaseToken, "p_next_end_xact": next.endXact,
                                    "p_next_end_id": next.endID, "p_next_lines": next.lines,
                                    "p_lease_seconds": leaseSeconds, "p_worker": worker]) { $1 }
        }

        func decodeRow(_ row: PostgresRow) throws -> DeliveryAttempt {
            try DeliveryAttempt(row, attempt: 1)
        }
    }

    /// Fixes each batch's end at its first attempt (kept on retries) and counts the attempt,
    /// for drains still leased and enabled: a drain disabled or deleted since its claim sends
    /// nothing new. Returns the URL, secret and configuration version to send with now.
    struct BeginAttempts: WorkerCall {
        static let function = WorkerFunction(
            name: "logdrain_worker_begin_attempts",
            arguments: [("p_drain_ids", "uuid[]"), ("p_lease_tokens", "bigint[]"), ("p_end_xacts", "text[]"),
                        ("p_end_ids", "bigint[]"), ("p_lines", "int[]")],
            returns: "table (id uuid, batch_delivery_id uuid, batch_attempts integer, url text, secret text, config_version bigint)",
            body: """
            update drains d set
                batch_end_xact = coalesce(d.batch_end_xact, v.end_xact::xid8),
                batch_end_id = coalesce(d.batch_end_id, v.end_id),
                batch_lines = coalesce(d.batch_lines, v.lines),
                batch_delivery_id = coalesce(d.batch_delivery_id, gen_random_uuid()),
                batch_attempts = d.batch_attempts + 1,
                last_attempt_at = now()
            from unnest(p_drain_ids, p_lease_tokens, p_end_xacts, p_end_ids, p_lines)
                as v(id, token, end_xact, end_id, lines)
            where d.id = v.id and d.lease_token = v.token and d.enabled
            returning d.id, d.batch_delivery_id, d.batch_attempts, d.url, d.secret, d.config_version
            """)
        var items: [(drain: ClaimedDrain, batch: Batch)]
        var arguments: [String: any PostgresParameter] {
            ["p_drain_ids": PostgresArray(items.map(\.drain.id)), "p_lease_tokens": PostgresArray(items.map(\.drain.leaseToken)),
             "p_end_xacts": PostgresArray(items.map(\.batch.endXact)), "p_end_ids": PostgresArray(items.map(\.batch.endID)),
             "p_lines": PostgresArray(items.map(\.batch.lines))]
        }

        func decodeRow(_ row: PostgresRow) throws -> (drainID: String, attempt: DeliveryAttempt) {
            (try row.decode("id"), try DeliveryAttempt(row))
        }
    }

    /// Drains with nothing to send: release the lease, due again after the interval.
    struct ReleaseIdle: WorkerCall {
        typealias Row = Void
        static let function = WorkerFunction(
            name: "logdrain_worker_release",
            arguments: [("p_drain_ids", "uuid[]"), ("p_lease_tokens", "bigint[]"), ("p_due_in_seconds", "float8")],
            returns: "void",
            body: """
            update drains d set lease_owner = null, lease_expires_at = null,
                next_due_at = now() + make_interval(secs => p_due_in_seconds)
            from unnest(p_drain_ids, p_lease_tokens) as v(id, token)
            where d.id = v.id and d.lease_token = v.token
            """)
        var drains: [ClaimedDrain]
        var dueInSeconds: Double
        var arguments: [String: any PostgresParameter] {
            ["p_drain_ids": PostgresArray(drains.map(\.id)), "p_lease_tokens": PostgresArray(drains.map(\.leaseToken)),
             "p_due_in_seconds": dueInSeconds]
        }
    }

    /// 2xx answers of several drains, one statement and one commit for all: for each, the
    /// cursor moves to the batch end, the counter resets, and the attempt is kept in the ring
    /// of recent attempts. Each row applies only under its drain's lease token and pending
    /// delivery id; the drains it returns are those whose outcome was kept.
    struct RecordSuccesses: WorkerCall {
        static let function = WorkerFunction(
            name: "logdrain_worker_record_successes",
            arguments: [("p_drain_ids", "uuid[]"), ("p_lease_tokens", "bigint[]"), ("p_delivery_ids", "uuid[]"),
                        ("p_due_in_seconds", "float8[]"), ("p_attempts", "int[]"), ("p_lines", "int[]"),
                        ("p_bytes", "bigint[]"), ("p_statuses", "int[]"), ("p_duration_ms", "int[]"), ("p_worker", "text")],
            returns: "table (drain_id uuid)",
            body: """
            with v as (
                select * from unnest(p_drain_ids, p_lease_tokens, p_delivery_ids, p_due_in_seconds, p_attempts,
                                     p_lines, p_bytes, p_statuses, p_duration_ms)
                    as v(drain_id, lease_token, delivery_id, due_in, attempt, lines, bytes, status, duration_ms)
            ), upd as (
                update drains d set \(batchDelivered),
                    batch_end_xact = null, batch_end_id = null, batch_delivery_id = null,
                    batch_attempts = 0, batch_lines = null,
                    next_due_at = now() + make_interval(secs => v.due_in),
                    lease_owner = null, lease_expires_at = null, attempt_seq = d.attempt_seq + 1
                from v where d.id = v.drain_id and d.lease_token = v.lease_token and d.batch_delivery_id = v.delivery_id
                returning d.id, d.attempt_seq, v.delivery_id, v.attempt, v.lines, v.bytes, v.status, v.duration_ms
            )
            \(historyInsert)
            select id, \(historySlot), delivery_id, attempt, lines, bytes, status, null, duration_ms, p_worker, now() from upd
            \(historySlotOverwrite)
            returning drain_id
            """)
        struct Item: Sendable {
            var drain: ClaimedDrain
            var dueInSeconds: Double
            var sent: AttemptFacts
        }
        var items: [Item]
        var worker: String
        var arguments: [String: any PostgresParameter] {
            ["p_drain_ids": PostgresArray(items.map(\.drain.id)), "p_lease_tokens": PostgresArray(items.map(\.drain.leaseToken)),
             "p_delivery_ids": PostgresArray(items.map(\.sent.deliveryID)), "p_due_in_seconds": PostgresArray(items.map(\.dueInSeconds)),
             "p_attempts": PostgresArray(items.map(\.sent.attempt)), "p_lines": PostgresArray(items.map(\.sent.lines)),
             "p_bytes": PostgresArray(items.map(\.sent.bytes)), "p_statuses": PostgresArray(items.map(\.sent.status)),
             "p_duration_ms": PostgresArray(items.map(\.sent.milliseconds)), "p_worker": worker]
        }

        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("drain_id") }
    }

    /// A failure: keep the error, schedule the retry, and count it — only while the drain is
    /// enabled and still has the URL and secret it was sent with (§2.15); on the
    /// `Limits.failuresBeforeDisable`-th in a row disable the drain with reason 'failures'
    /// (audited). One statement. A failure that does not count is kept in the history only,
    /// and the retry is due at once (with the new configuration).
    struct RecordFailure: WorkerCall {
        static let function = WorkerFunction(
            name: "logdrain_worker_record_failure",
            arguments: [("p_drain_id", "uuid"), ("p_lease_token", "bigint"), ("p_delivery_id", "uuid"),
                        ("p_retry_in_seconds", "float8"), ("p_error", "text"), ("p_attempt", "int"), ("p_lines", "int"),
                        ("p_bytes", "bigint"), ("p_status", "int"), ("p_duration_ms", "int"), ("p_worker", "text"),
                        ("p_config_version", "bigint")],
            returns: "table (id uuid, enabled boolean, consecutive_failures integer, auto_disabled boolean)",
            body: """
            with cur as (
                select d.id, d.enabled and d.config_version = p_config_version as counts,
                       d.consecutive_failures + 1 >= \(Limits.failuresBeforeDisable) as last_straw
                from drains d where d.id = p_drain_id and d.lease_token = p_lease_token
                  and d.lease_owner is not null  -- once only: the first write releases the lease
                for update
            ), upd as (
                update drains d set
                    consecutive_failures = d.consecutive_failures + case when cur.counts then 1 else 0 end,
                    enabled = d.enabled and not (cur.counts and cur.last_straw),
                    disabled_reason = case when cur.counts and cur.last_straw then 'failures' else d.disabled_reason end,
                    last_failure_at = case when cur.counts then now() else d.last_failure_at end,
                    last_error = case when cur.counts then p_error else d.last_error end,
                    next_due_at = now() + case when cur.counts then make_interval(secs => p_retry_in_seconds) else interval '0' end,
                    lease_owner = null, lease_expires_at = null, attempt_seq = d.attempt_seq + 1
                from cur where d.id = cur.id
                returning d.id, d.account_id, d.attempt_seq, d.enabled, d.consecutive_failures,
                          cur.counts and cur.last_straw as auto_disabled, logdrain_drain_audit_view(d) as view
            ), history as (
                \(historyInsert)
                select id, \(historySlot), p_delivery_id, p_attempt, p_lines, p_bytes, p_status, p_error, p_duration_ms, p_worker, now() from upd
                \(historySlotOverwrite)
            ), audit as (
                insert into audit_events (account_id, drain_id, actor, action, before, after)
                select account_id, id, 'worker:' || p_worker, 'drain.auto-disable', null, view from upd
                where auto_disabled
            )
            select id, enabled, consecutive_failures, auto_disabled from upd
            """)
        var drainID: String
        var leaseToken: Int64
        var retryInSeconds: Double
        var error: String
        var configVersion: Int64
        var sent: AttemptFacts
        var worker: String
        var arguments: [String: any PostgresParameter] {
            sent.arguments.merging(["p_drain_id": drainID, "p_lease_token": leaseToken, "p_retry_in_seconds": retryInSeconds,
                                    "p_error": error, "p_config_version": configVersion, "p_worker": worker]) { $1 }
        }

        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("id") }
    }

    /// Every worker function, for `migrate` to create.
    static let workerFunctions: [WorkerFunction] = [
        Claim.function, EndNeedlessFilters.function, SkipFiltered.function, DropPendingBatch.function, Advance.function,
        BeginAttempts.function, ReleaseIdle.function, RecordSuccesses.function, RecordFailure.function,
    ]
}

extension DeliveryAttempt {
    init(_ row: PostgresRow, attempt: Int? = nil) throws {
        self.init(deliveryID: try row.decode("batch_delivery_id"),
                  attempt: try attempt ?? row.decode("batch_attempts"),
                  url: try row.decode("url"), secret: try row.decode("secret"),
                  configVersion: try row.decode("config_version"))
    }
}
