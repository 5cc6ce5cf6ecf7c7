import DrainCore
internal import Postgres

/// The worker's reads of log rows. They answer with many rows per drain, which the store
/// encodes in place (`LogRows`) rather than decode one value per row.
extension SQL.Delivery {
    /// How many rows a read of a drain under the new-drain filter examines at most: the
    /// filter never makes one statement walk an account's whole history (§2.12).
    static let filterScanRows = 20_000

    /// Rows of one drain's stream after a position ("after"), in (xact_id, id) order, for
    /// reads of many drains in one statement (each drain's rows bounded by the server):
    /// the pending batch's range (cursor, batch_end] when there is one, else rows below
    /// the oldest running transaction (a transaction that commits late is never skipped).
    /// The inner LIMIT bounds the rows examined, the filter applies the new-drain rule, and
    /// `before` (bytes of the kept rows ahead of this one) stops the read near the byte cap,
    /// which the encoder then applies exactly (§2.13).
    private static func stream(after: String) -> String {
        let upperBound = """
            case when d.batch_end_xact is null then l.xact_id < pg_snapshot_xmin(pg_current_snapshot())
                 else (l.xact_id, l.id) <= (d.batch_end_xact, d.batch_end_id) end
            """
        let lineLimit = "case when d.batch_end_xact is null then d.sampling_rate else \(Limits.maxSamplingRate) end"
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
            where w.before < \(Limits.maxBatchBytes)
            """
    }

    /// The rows after a position, below the oldest running transaction, for a drain past the
    /// new-drain filter: the plain ordered index scan, without `stream`'s running byte sum
    /// (which doubles the read's cost). Read row by row, so the reader applies the byte cap
    /// and cancels the rest (`LogRows.stream`).
    private static func rowsAfter(_ after: String) -> String {
        """
        select l.xact_id, l.id, l.ts, l.message, l.level, l.fal_app_name, l.fal_app_id,
               l.fal_request_id, l.fal_job_id, l.fal_endpoint, l.fal_node_id, l.fal_worker_id,
               l.fal_source, l.fal_isolate_source
        from logs l
        where l.account_id = d.account_id
          and (l.xact_id, l.id) > \(after)
          and l.xact_id < pg_snapshot_xmin(pg_current_snapshot())
        order by l.xact_id, l.id
        limit d.sampling_rate
        """
    }

    /// The select list of a one-drain read streamed row by row, in binary form (`LogRows.stream`
    /// reads it by position): `batchColumns` without the drain, the position and `ts` as
    /// integers, not text. A `ts` outside years 1 to 9999 (BC, infinity, year 10000 on) also
    /// comes as PostgreSQL's text, which the wire carries as the text reads do.
    private static let streamedColumns = """
        b.xact_id, b.id, b.ts as timestamp,
               b.message, b.level, b.fal_app_name, b.fal_app_id, b.fal_request_id, b.fal_job_id,
               b.fal_endpoint, b.fal_node_id, b.fal_worker_id, b.fal_source, b.fal_isolate_source,
               case when b.ts >= '0001-01-01 00:00:00+00' and b.ts < '10000-01-01 00:00:00+00' then null
                    else b.ts::text end as timestamp_text
        """

    /// The one select list of every batch read: the drain, the row's position and its fields
    /// under their wire names (`LogRows` reads them by those names). `ts` comes as ISO text in
    /// UTC (the worker's session settings).
    private static let batchColumns = """
        d.id as drain_id, b.xact_id::text as xact_id, b.id, b.ts as timestamp,
               b.message, b.level, b.fal_app_name, b.fal_app_id, b.fal_request_id, b.fal_job_id,
               b.fal_endpoint, b.fal_node_id, b.fal_worker_id, b.fal_source, b.fal_isolate_source
        """

    /// The next batch of each claimed drain: a pending batch is re-read exactly, a new one
    /// starts after the cursor. A drain disabled since its claim is read too (so its pending
    /// batch is never mistaken for one whose rows are gone); beginning its attempt then refuses
    /// it. No outer ORDER BY: the caller checks each drain's rows are in (xact_id, id) order.
    struct ReadBatches: PostgresStatement {
        typealias Row = Void
        static let preparedName: String? = "logdrain_read_batches_v3"
        static let sql = """
            select \(batchColumns)
            from unnest($1::uuid[], $2::bigint[]) as v(id, token)
            join drains d on d.id = v.id and d.lease_token = v.token
            cross join lateral (\(stream(after: "(d.cursor_xact, d.cursor_id)"))) b
            """
        var drains: [ClaimedDrain]
        func makeBindings() -> PostgresBindings {
            PostgresBindings(PostgresArray(drains.map(\.id)), PostgresArray(drains.map(\.leaseToken)))
        }
    }

    /// The batch after a batch in flight, for a drain still leased with its token and not under
    /// the new-drain filter: read while that batch is on the wire, so a drain with a backlog
    /// never waits for the database. Read row by row (the byte cap is the reader's).
    struct ReadNextBatch: PostgresStatement {
        typealias Row = Void
        static let preparedName: String? = "logdrain_read_next_batch_v5"
        static let sql = """
            select \(streamedColumns)
            from unnest($1::uuid[], $2::bigint[], $3::xid8[], $4::bigint[]) as v(id, token, after_xact, after_id)
            join drains d on d.id = v.id and d.lease_token = v.token and d.enabled and d.start_snapshot is null
            cross join lateral (\(rowsAfter("(v.after_xact, v.after_id)"))) b
            """
        var drain: ClaimedDrain
        /// The stream position the batch starts after: the end of the batch before it.
        var afterXact: String
        var afterID: Int64
        func makeBindings() -> PostgresBindings {
            PostgresBindings(PostgresArray([drain.id]), PostgresArray([drain.leaseToken]),
                             PostgresArray([afterXact]), PostgresArray([afterID]))
        }
    }

    // MARK: reads on a hot standby (`--read-database-url`)

    /// What a read needs of one leased drain, from the primary: the standby's copy of `drains`
    /// may lag, the cursor and the pending batch must not.
    struct StreamState: Sendable {
        var id: String
        var accountID: Int64
        var cursorXact: String
        var cursorID: Int64
        var batchEndXact: String?
        var batchEndID: Int64?
        var samplingRate: Int
        var startSnapshot: String?
        var startTS: String?
    }

    struct ReadState: PostgresStatement {
        static let preparedName: String? = "logdrain_read_state_v2"
        static let sql = """
            select d.id, d.account_id, d.cursor_xact::text as cursor_xact, d.cursor_id,
                   d.batch_end_xact::text as batch_end_xact, d.batch_end_id, d.sampling_rate,
                   d.start_snapshot::text as start_snapshot, d.start_ts::text as start_ts
            from unnest($1::uuid[], $2::bigint[]) as v(id, token)
            join drains d on d.id = v.id and d.lease_token = v.token
            """
        var drains: [ClaimedDrain]
        func makeBindings() -> PostgresBindings {
            PostgresBindings(PostgresArray(drains.map(\.id)), PostgresArray(drains.map(\.leaseToken)))
        }
        func decodeRow(_ row: PostgresRow) throws -> StreamState {
            StreamState(id: try row.decode("id"), accountID: try row.decode("account_id"),
                        cursorXact: try row.decode("cursor_xact"), cursorID: try row.decode("cursor_id"),
                        batchEndXact: try row.decode("batch_end_xact", as: String?.self),
                        batchEndID: try row.decode("batch_end_id", as: Int64?.self),
                        samplingRate: try row.decode("sampling_rate"),
                        startSnapshot: try row.decode("start_snapshot", as: String?.self),
                        startTS: try row.decode("start_ts", as: String?.self))
        }
    }

    /// `ReadBatches` on the standby, for the drain states given, reading below the standby's
    /// own watermark: it holds only transactions it has replayed.
    struct ReadBatchesOnStandby: PostgresStatement {
        typealias Row = Void
        static let preparedName: String? = "logdrain_read_batches_on_standby_v2"
        static let sql = """
            select \(batchColumns)
            from unnest($1::uuid[], $2::bigint[], $3::xid8[], $4::bigint[], $5::xid8[], $6::bigint[], $7::int[],
                        $8::pg_snapshot[], $9::timestamptz[])
                 as d(id, account_id, cursor_xact, cursor_id, batch_end_xact, batch_end_id, sampling_rate, start_snapshot, start_ts)
            cross join lateral (\(stream(after: "(d.cursor_xact, d.cursor_id)"))) b
            """
        var states: [StreamState]
        func makeBindings() -> PostgresBindings {
            PostgresBindings(PostgresArray(states.map(\.id)), PostgresArray(states.map(\.accountID)),
                             PostgresArray(states.map(\.cursorXact)), PostgresArray(states.map(\.cursorID)),
                             PostgresArray(states.map(\.batchEndXact)), PostgresArray(states.map { $0.batchEndID.map(String.init) }),
                             PostgresArray(states.map(\.samplingRate)), PostgresArray(states.map(\.startSnapshot)),
                             PostgresArray(states.map(\.startTS)))
        }
    }

    /// Of the pending batches given, those the standby has not yet replayed to their end:
    /// re-reading them there now would find lines missing.
    struct NotReplayedOnStandby: PostgresStatement {
        static let preparedName: String? = "logdrain_not_replayed_on_standby"
        static let sql = """
            select v.id::text as id from unnest($1::uuid[], $2::xid8[]) as v(id, batch_end_xact)
            where v.batch_end_xact >= pg_snapshot_xmin(pg_current_snapshot())
            """
        var pending: [StreamState]
        func makeBindings() -> PostgresBindings {
            PostgresBindings(PostgresArray(pending.map(\.id)), PostgresArray(pending.map(\.batchEndXact)))
        }
        func decodeRow(_ row: PostgresRow) throws -> String { try row.decode("id") }
    }

    /// `ReadNextBatch` on the standby: only drains the new-drain filter no longer applies to.
    struct ReadNextBatchOnStandby: PostgresStatement {
        typealias Row = Void
        static let preparedName: String? = "logdrain_read_next_batch_on_standby_v3"
        static let sql = """
            select \(streamedColumns)
            from unnest($1::uuid[], $2::bigint[], $3::xid8[], $4::bigint[], $5::int[])
                 as d(id, account_id, after_xact, after_id, sampling_rate)
            cross join lateral (\(rowsAfter("(d.after_xact, d.after_id)"))) b
            """
        var drain: ClaimedDrain
        var afterXact: String
        var afterID: Int64
        func makeBindings() -> PostgresBindings {
            PostgresBindings(PostgresArray([drain.id]), PostgresArray([drain.accountID]), PostgresArray([afterXact]),
                             PostgresArray([afterID]), PostgresArray([drain.samplingRate]))
        }
    }
}
