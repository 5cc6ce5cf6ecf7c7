import Postgres

/// A worker statement that writes drains, run as a SECURITY DEFINER function (DESIGN §5: the
/// worker role cannot UPDATE `drains` directly; it may only call these). `migrate` creates or
/// replaces each from its `body` (the statement, with `$n` parameters), so the SQL has one home
/// here; the worker calls it through `call`, a prepared statement.
struct WorkerFunction: Sendable {
    let name: String
    /// SQL types of `$1`, `$2`, ...
    let arguments: [String]
    /// `void`, or `table (column type, ...)` matching the body's output.
    let returns: String
    let body: String

    init(name: String, arguments: [String], returns: String, body: String) {
        self.name = name
        self.arguments = arguments
        self.returns = returns
        self.body = body
    }

    var signature: String { "\(name)(\(arguments.joined(separator: ", ")))" }

    /// `select * from name($1::type, ...)`, prepared once per session.
    var call: PreparedStatement {
        let parameters = arguments.enumerated().map { "$\($0.offset + 1)::\($0.element)" }.joined(separator: ", ")
        let select = returns == "void" ? "select \(name)(\(parameters))" : "select * from \(name)(\(parameters))"
        return PreparedStatement(name: "\(name)_call", sql: select)
    }

    /// Creates the function afresh (a changed result type cannot be replaced in place), pinned
    /// to `schema`, callable by workers and operators only. Run inside one transaction: workers
    /// calling it meanwhile see the old function or the new one, never none.
    func ddl(schema: String) -> String {
        """
        drop function if exists \(signature);
        create function \(signature) returns \(returns)
        language sql security definer set search_path = \(schema), pg_temp as $logdrain_body$
        \(body)
        $logdrain_body$;
        revoke execute on function \(signature) from public;
        grant execute on function \(signature) to logdrain_worker, logdrain_operator;
        """
    }
}
