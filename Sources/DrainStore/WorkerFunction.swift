internal import Postgres

/// A worker statement that writes drains, run as a SECURITY DEFINER function (DESIGN §5: the
/// worker role cannot UPDATE `drains` directly; it may only call these). `migrate` creates or
/// replaces each from its `body`, so the SQL has one home (`Statements/WorkerWrites.swift`);
/// the worker calls it through a `WorkerCall`, which binds the arguments by name.
struct WorkerFunction: Sendable {
    let name: String
    /// Named arguments (`p_...`, which no column is called) and their SQL types, as the body
    /// uses them.
    let arguments: [(name: String, type: String)]
    /// `void`, or `table (column type, ...)` matching the body's output.
    let returns: String
    let body: String
    /// `select * from name(p_a => $1::type, ...)`: named notation, so the call says which value
    /// is which argument.
    let callSQL: String

    init(name: String, arguments: [(String, String)], returns: String, body: String) {
        self.name = name
        self.arguments = arguments.map { (name: $0.0, type: $0.1) }
        self.returns = returns
        self.body = body
        let parameters = arguments.enumerated().map { "\($0.element.0) => $\($0.offset + 1)::\($0.element.1)" }
            .joined(separator: ", ")
        callSQL = returns == "void" ? "select \(name)(\(parameters))" : "select * from \(name)(\(parameters))"
    }

    var signature: String { "\(name)(\(arguments.map { "\($0.name) \($0.type)" }.joined(separator: ", ")))" }
    private var typeSignature: String { "\(name)(\(arguments.map(\.type).joined(separator: ", ")))" }

    /// Creates the function afresh (a changed result type or argument name cannot be replaced
    /// in place), pinned to `schema`, callable by workers and operators only. Run inside one
    /// transaction: workers calling it meanwhile see the old function or the new one, never none.
    ///
    /// PL/pgSQL with a generic plan, not a SQL function: PostgreSQL 15 parses and plans a SQL
    /// function's body on every call (a fifth of a worker backend's CPU at 10,000 drains),
    /// while PL/pgSQL keeps the plan for the session. A result column's name shadows nothing:
    /// in the body a name is the table's column (`use_column`), as in a SQL function.
    func ddl(schema: String) -> String {
        """
        drop function if exists \(typeSignature);
        create function \(signature) returns \(returns)
        language plpgsql security definer set search_path = \(schema), pg_temp set plan_cache_mode = force_generic_plan
        as $logdrain_body$
        #variable_conflict use_column
        begin
        \(returns == "void" ? "" : "return query ")\(body);
        end
        $logdrain_body$;
        revoke execute on function \(typeSignature) from public;
        grant execute on function \(typeSignature) to logdrain_worker, logdrain_operator;
        """
    }
}

/// The typed statement that calls a `WorkerFunction`: its `arguments` are keyed by the
/// function's argument names, and bound in the function's order.
protocol WorkerCall: PostgresStatement {
    static var function: WorkerFunction { get }
    var arguments: [String: any PostgresParameter] { get }
}

extension WorkerCall {
    static var sql: String { function.callSQL }
    static var preparedName: String? { function.name + "_call" }

    func makeBindings() -> PostgresBindings {
        let given = arguments
        // A name missing or extra is a mistake in this file that every test calling the
        // statement meets at once; it is never data-dependent.
        precondition(given.count == Self.function.arguments.count && Self.function.arguments.allSatisfy { given[$0.name] != nil },
                     "\(Self.function.name): arguments \(given.keys.sorted()) do not match \(Self.function.arguments.map(\.name))")
        var bindings = PostgresBindings()
        for argument in Self.function.arguments { bindings.append(given[argument.name]!) }
        return bindings
    }
}
