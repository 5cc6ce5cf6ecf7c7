import DrainCore
internal import Postgres

/// Applies the embedded migrations once each, in order, under an advisory lock, so running
/// `migrate` twice, or several at once, is safe.
public enum Migrator {
    /// Transaction-level advisory lock key: "logdrain" as ASCII bytes.
    static let lockKey: Int64 = 0x6C6F_6764_7261_696E

    public static var versions: [String] { EmbeddedMigrations.all.map(\.version) }
    public static var migrations: [(version: String, sql: String)] { EmbeddedMigrations.all }

    /// Returns the versions applied by this call (empty when already up to date). Everything
    /// happens in one transaction under a transaction-scoped advisory lock: all or nothing, and
    /// safe through a transaction-pooling proxy (a session lock could outlive its client there).
    static func migrate(_ db: StoreConnection) throws(StoreError) -> [String] {
        try db.transaction { () throws(StoreError) -> [String] in
            var applied: [String] = []
            try db.execute(SQL.Migrations.Lock(key: lockKey))
            try db.script(SQL.Migrations.createTable)
            // DrainCore's Limits, before any migration that reads them (sql/009_limits.sql).
            try db.script(SQL.Limits.ddl)
            let done = Set(try db.execute(SQL.Migrations.Applied()))
            for m in EmbeddedMigrations.all where !done.contains(m.version) {
                try db.script(m.sql)
                try db.execute(SQL.Migrations.Record(version: m.version))
                applied.append(m.version)
            }
            // The worker's writes, from Statements/WorkerWrites.swift (their one home), as
            // SECURITY DEFINER functions.
            let schema = try db.one(SQL.Migrations.QuotedSchema())
            for function in SQL.Delivery.workerFunctions { try db.script(function.ddl(schema: schema)) }
            // Producers never meet a missing partition: keep the coming days ready (under the
            // upkeep's lock, so a worker's hourly run cannot create the same day meanwhile).
            try db.execute(SQL.Maintenance.UpkeepLock())
            try db.execute(SQL.Maintenance.EnsurePartitions(daysAhead: 7))
            return applied
        }
    }
}
