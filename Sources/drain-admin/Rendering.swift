import DrainAdminKit
import DrainCore

// How `drain-admin` prints the values the admin kit returns: a table or lines for people, or
// with `--json` the objects of DESIGN §3.

/// Fixed-width columns for the human-readable listings.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            i == cells.count - 1 || c.count >= widths[i] ? c : c + String(repeating: " ", count: widths[i] - c.count)
        }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

extension Account {
    var json: JSONOutput { .object([("id", .int(id)), ("name", .string(name)), ("created_at", .string(createdAt))]) }
}

func render(_ accounts: [Account], json: Bool) -> String {
    if json { return JSONOutput.array(accounts.map(\.json)).render() }
    return table(["ID", "NAME", "CREATED"], accounts.map { [String($0.id), $0.name, $0.createdAt] })
}

func render(_ members: [Member], json: Bool) -> String {
    if json {
        return JSONOutput.array(members.map {
            .object([("email", .string($0.email)), ("role", .string($0.role)), ("created_at", .string($0.createdAt)),
                     ("db_role", .string($0.dbRole))])
        }).render()
    }
    return table(["EMAIL", "ROLE", "ADDED"], members.map { [$0.email, $0.role, $0.createdAt] })
}

func render(_ drains: [DrainStatus], json: Bool) -> String {
    if json { return JSONOutput.array(drains.map { $0.json() }).render() }
    return table(["ID", "ACCOUNT", "NAME", "STATUS", "FAILURES", "LAST SUCCESS", "LAG", "URL"], drains.map {
        [$0.id, $0.account, $0.name, $0.statusWord, String($0.consecutiveFailures), $0.lastSuccessAt ?? "never", $0.lagText, $0.url]
    })
}

func render(_ d: DrainStatus, attempts: [RecentAttempt], json: Bool) -> String {
    if json { return d.json().render() }
    var lines = [
        "id:                   \(d.id)",
        "account:              \(d.account)",
        "name:                 \(d.name)",
        "url:                  \(d.url)",
        "status:               \(d.statusWord)",
        "sampling rate:        \(d.samplingRate)",
        "consecutive failures: \(d.consecutiveFailures)",
        "last success:         \(d.lastSuccessAt ?? "never")",
        "last failure:         \(d.lastFailureAt ?? "never")",
        "last error:           \(d.lastError ?? "-")",
        "delivered lines:      \(d.deliveredLines)",
        "lag:                  \(d.lagText)",
        "created:              \(d.createdAt)",
    ]
    if let pending = d.pendingDeliveryID {
        lines.append("pending batch:        \(pending) (\(d.pendingLines ?? 0) lines, \(d.pendingAttempts) attempts)")
    }
    if let gap = d.gapText { lines.append("gap:                  \(gap)") }
    if !attempts.isEmpty {
        lines += ["", "recent attempts:", table(["AT", "ATTEMPT", "LINES", "RESULT", "MS"], attempts.map {
            [$0.at, String($0.attempt), String($0.lines), $0.error ?? "HTTP \($0.status ?? 0)", $0.durationMs.map(String.init) ?? "-"]
        })]
    }
    return lines.joined(separator: "\n")
}

func render(_ created: CreatedDrain, json: Bool) -> String {
    let drain = created.drain
    if json { return drain.json(secret: created.generatedSecret).render() }
    var lines = ["created drain \(drain.id) (\(drain.name)) for account \(drain.account)",
                 created.test, drain.enabled ? "enabled" : "disabled (manual)"]
    if let secret = created.generatedSecret { lines.append("secret (shown once; store it now): \(secret)") }
    return lines.joined(separator: "\n")
}

func render(_ updated: UpdatedDrain) -> String {
    var notes = updated.notes
    if let s = updated.generatedSecret { notes.append("new secret (shown once; store it now): \(s)") }
    return notes.joined(separator: "\n")
}

func render(_ events: [AuditEvent], json: Bool) -> String {
    if json {
        return JSONOutput.array(events.map {
            .object([("id", .int($0.id)), ("at", .string($0.at)), ("actor", .string($0.actor)),
                     ("action", .string($0.action)), ("drain_id", .string($0.drainID)),
                     // JSON the database wrote (secrets redacted there), embedded as it is.
                     ("before", $0.before.map { .raw($0) } ?? .null), ("after", $0.after.map { .raw($0) } ?? .null)])
        }).render()
    }
    return table(["AT", "ACTOR", "ACTION", "DRAIN", "AFTER"], events.map { [$0.at, $0.actor, $0.action, $0.drainID ?? "-", $0.after ?? "-"] })
}

func render(_ workers: [WorkerInfo], json: Bool) -> String {
    if json {
        return JSONOutput.array(workers.map {
            .object([("name", .string($0.name)), ("host", .string($0.host)), ("pid", .int($0.pid)),
                     ("started_at", .string($0.startedAt)), ("heartbeat_at", .string($0.heartbeatAt)),
                     ("in_flight", .int($0.inFlight))])
        }).render()
    }
    return table(["NAME", "HOST", "PID", "STARTED", "HEARTBEAT", "IN FLIGHT"], workers.map {
        [$0.name, $0.host, String($0.pid), $0.startedAt, $0.heartbeatAt, String($0.inFlight)]
    })
}

func render(_ run: MaintenanceRun) -> String {
    "partitions created: \(run.created), dropped (older than \(run.retentionDays) days): \(run.dropped); "
        + "keeping \(run.daysAhead) days ahead and \(run.retentionDays) days of logs (the workers' hourly upkeep uses the same)"
}
