import DrainCore
internal import Postgres

/// Every statement LogDrain sends, each a `PostgresStatement` type (SQL, named bindings, row
/// decoding) in `Statements/`; the worker's writes are SECURITY DEFINER functions that
/// `migrate` creates (`Statements/WorkerWrites.swift`). Parameters are always bound.
enum SQL {
    enum Migrations {}
    enum Maintenance {}
    enum Accounts {}
    enum Members {}
    enum Tokens {}
    enum Drains {}
    enum Audit {}
    enum Workers {}
    enum Delivery {}

    enum Ingest {
        static let copy = """
            copy logs (account_id, ts, message, level, fal_app_name, fal_app_id, fal_request_id, fal_job_id,
                       fal_endpoint, fal_node_id, fal_worker_id, fal_source, fal_isolate_source) from stdin
            """
    }

    /// `logdrain_limit(name)`: DrainCore's `Limits` as the database reads them (sql/009_limits.sql),
    /// created by `migrate` before the migrations, so a migration may call it.
    enum Limits {
        static var ddl: String {
            let cases = DrainCore.Limits.sqlValues.map { "when '\($0.name)' then \($0.value)" }.joined(separator: " ")
            return """
                create or replace function logdrain_limit(p_name text) returns bigint
                language sql immutable parallel safe as $logdrain_limit$
                    select case p_name \(cases) end
                $logdrain_limit$
                """
        }
    }
}
