import Postgres

/// Applies the embedded migrations once each, in order, under an advisory lock, so running
/// `migrate` twice, or several at once, is safe.
public enum Migrator {
    /// Session-level advisory lock key: "logdrain" as ASCII bytes.
    static let lockKey: Int64 = 0x6C6F_6764_7261_696E

    public static var versions: [String] { EmbeddedMigrations.all.map(\.version) }
    public static var migrations: [(version: String, sql: String)] { EmbeddedMigrations.all }

    /// Returns the versions applied by this call (empty when already up to date). Everything
    /// happens in one transaction under a transaction-scoped advisory lock: all or nothing, and
    /// safe through a transaction-pooling proxy (a session lock could outlive its client there).
    @discardableResult
    public static func migrate(_ db: PostgresConnection) throws -> [String] {
        var applied: [String] = []
        try db.transaction {
            try db.query(SQL.Migrations.lock, [lockKey])
            try db.execute(script: SQL.Migrations.createTable)
            let done = Set(try db.query(SQL.Migrations.applied).rows.compactMap { $0.string("version") })
            for m in EmbeddedMigrations.all where !done.contains(m.version) {
                try db.execute(script: m.sql)
                try db.query(SQL.Migrations.record, [m.version])
                applied.append(m.version)
            }
            // The worker's writes, from SQL.swift (their one home), as SECURITY DEFINER functions.
            let schema = try db.query(SQL.Migrations.quotedSchema).rows[0].requiredString("schema")
            for function in SQL.Delivery.workerFunctions { try db.execute(script: function.ddl(schema: schema)) }
            // Producers never meet a missing partition: keep the coming days ready (under the
            // upkeep's lock, so a worker's hourly run cannot create the same day meanwhile).
            try db.query(SQL.Maintenance.upkeepLock)
            try db.query(SQL.Maintenance.ensurePartitions, [7])
        }
        return applied
    }
}
