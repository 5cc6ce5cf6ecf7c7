import Delivery
import DrainCore
import DrainStore
import Foundation

/// `drain-admin create` input, before the secret is read.
public struct CreateRequest: Sendable {
    public var account: String
    public var actor: String
    public var name: String
    public var url: String
    public var secret: SecretSource
    public var samplingRate: Int
    public var skipTest: Bool
    public var disabled: Bool

    public init(account: String, actor: String, name: String, url: String, secret: SecretSource,
                samplingRate: Int, skipTest: Bool, disabled: Bool) {
        self.account = account
        self.actor = actor
        self.name = name
        self.url = url
        self.secret = secret
        self.samplingRate = samplingRate
        self.skipTest = skipTest
        self.disabled = disabled
    }
}

/// A saved drain, with the secret when it was generated (shown once) and the test's result.
public struct CreatedDrain: Sendable {
    public let drain: DrainStatus
    public let generatedSecret: String?
    public let test: String
}

/// What `update` did, in lines for people, with a generated secret (shown once).
public struct UpdatedDrain: Sendable {
    public let notes: [String]
    public let generatedSecret: String?
}

extension Admin {
    public func createDrain(_ r: CreateRequest) throws -> CreatedDrain {
        try Validate.accountName(r.account)
        try Validate.email(r.actor)
        try Validate.drainName(r.name)
        try Validate.endpointURL(r.url)
        try Validate.samplingRate(r.samplingRate)
        let secret = try r.secret.read()
        try EndpointGuard.check(url: r.url, allowPrivate: environment.allowPrivateEndpoints)
        try store.precheck(account: r.account, actor: r.actor, enabling: !r.disabled)
        let testLine = r.skipTest ? "test delivery skipped (--skip-test)" : try testSend(url: r.url, secret: secret)
        let id = try store.createDrain(NewDrain(account: r.account, actor: r.actor, name: r.name, url: r.url,
                                                secret: try storedForm(of: secret), samplingRate: r.samplingRate,
                                                enabled: !r.disabled))
        guard let drain = try store.drain(id: id) else { throw AdminError("drain \(id) vanished after creation", exitCode: 1) }
        return CreatedDrain(drain: drain, generatedSecret: r.secret.isGenerated ? secret : nil, test: testLine)
    }

    public func createDrain(_ r: CreateRequest, json: Bool) throws -> String {
        let created = try createDrain(r)
        let drain = created.drain
        if json { return Self.json(drain, secret: created.generatedSecret).render() }
        var lines = ["created drain \(drain.id) (\(drain.name)) for account \(drain.account)",
                     created.test, drain.enabled ? "enabled" : "disabled (manual)"]
        if let secret = created.generatedSecret {
            lines.append("secret (shown once; store it now): \(secret)")
        }
        return lines.joined(separator: "\n")
    }

    public func changeDrain(id: String, actor: String, change: DrainChange, secret: SecretSource?, skipTest: Bool) throws -> UpdatedDrain {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        var change = change
        if let name = change.name { try Validate.drainName(name) }
        if let url = change.url { try Validate.endpointURL(url) }
        if let rate = change.samplingRate { try Validate.samplingRate(rate) }
        if let secret { change.secret = try secret.read() }
        guard !change.isEmpty else { throw AdminError("update: nothing to change: give --name, --url, --sampling-rate or a secret option") }
        try store.precheck(drainID: id, actor: actor)
        var notes: [String] = []
        if let url = change.url {
            try EndpointGuard.check(url: url, allowPrivate: environment.allowPrivateEndpoints)
            if skipTest {
                notes.append("test delivery skipped (--skip-test)")
            } else {
                let currentSecret = try store.endpoint(drainID: id)?.secret
                guard let testSecret = try change.secret ?? currentSecret.map(plaintext(of:)) else {
                    throw AdminError("drain: no drain with id \(id)", kind: .notFound)
                }
                notes.append(try testSend(url: url, secret: testSecret))
            }
        }
        var stored = change
        stored.secret = try change.secret.map(storedForm(of:))
        try store.updateDrain(id: id, actor: actor, change: stored)
        notes.insert("updated drain \(id)", at: 0)
        return UpdatedDrain(notes: notes, generatedSecret: secret?.isGenerated == true ? change.secret : nil)
    }

    public func updateDrain(id: String, actor: String, change: DrainChange, secret: SecretSource?, skipTest: Bool) throws -> String {
        let updated = try changeDrain(id: id, actor: actor, change: change, secret: secret, skipTest: skipTest)
        var notes = updated.notes
        if let s = updated.generatedSecret { notes.append("new secret (shown once; store it now): \(s)") }
        return notes.joined(separator: "\n")
    }

    /// One drain's status, or nil when there is none with this id.
    public func drain(id: String) throws -> DrainStatus? {
        try Self.checkDrainID(id)
        return try store.drain(id: id)
    }

    public func drains(account: String?) throws -> [DrainStatus] { try store.drains(account: account) }

    public func enableDrain(id: String, actor: String, skipBacklog: Bool) throws -> String {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        try store.enableDrain(id: id, actor: actor, skipBacklog: skipBacklog)
        return skipBacklog ? "enabled drain \(id); delivering from the last 30 seconds (backlog skipped)"
                           : "enabled drain \(id); resuming from where it stopped"
    }

    public func disableDrain(id: String, actor: String) throws -> String {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        try store.disableDrain(id: id, actor: actor)
        return "disabled drain \(id)"
    }

    public func deleteDrain(id: String, actor: String) throws -> String {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        try store.deleteDrain(id: id, actor: actor)
        return "deleted drain \(id)"
    }

    public func listDrains(account: String?, json: Bool) throws -> String {
        let all = try store.drains(account: account)
        if json { return JSONOutput.array(all.map(Self.json)).render() }
        return table(["ID", "ACCOUNT", "NAME", "STATUS", "FAILURES", "LAST SUCCESS", "LAG", "URL"], all.map {
            [$0.id, $0.account, $0.name, Self.statusWord($0), String($0.consecutiveFailures),
             $0.lastSuccessAt ?? "never", Self.lag($0.lagSeconds), $0.url]
        })
    }

    public func showDrain(id: String, json: Bool) throws -> String {
        try Self.checkDrainID(id)
        guard let d = try store.drain(id: id) else { throw AdminError("drain: no drain with id \(id)", kind: .notFound) }
        if json { return Self.json(d).render() }
        var lines = [
            "id:                   \(d.id)",
            "account:              \(d.account)",
            "name:                 \(d.name)",
            "url:                  \(d.url)",
            "status:               \(Self.statusWord(d))",
            "sampling rate:        \(d.samplingRate)",
            "consecutive failures: \(d.consecutiveFailures)",
            "last success:         \(d.lastSuccessAt ?? "never")",
            "last failure:         \(d.lastFailureAt ?? "never")",
            "last error:           \(d.lastError ?? "-")",
            "delivered lines:      \(d.deliveredLines)",
            "lag:                  \(Self.lag(d.lagSeconds))",
            "created:              \(d.createdAt)",
        ]
        if let pending = d.pendingDeliveryID {
            lines.append("pending batch:        \(pending) (\(d.pendingLines ?? 0) lines, \(d.pendingAttempts) attempts)")
        }
        if let gap = Self.gapText(d) {
            lines.append("gap:                  \(gap)")
        }
        let attempts = try store.recentAttempts(drainID: id)
        if !attempts.isEmpty {
            lines.append("")
            lines.append("recent attempts:")
            lines.append(table(["AT", "ATTEMPT", "LINES", "RESULT", "MS"], attempts.map {
                [$0.at, String($0.attempt), String($0.lines), $0.error ?? "HTTP \($0.status ?? 0)", $0.durationMs.map(String.init) ?? "-"]
            }))
        }
        return lines.joined(separator: "\n")
    }

    public func audit(account: String, json: Bool) throws -> String {
        let events = try store.audit(account: account)
        if json {
            return JSONOutput.array(events.map {
                .object([("id", .int($0.id)), ("at", .string($0.at)), ("actor", .string($0.actor)),
                         ("action", .string($0.action)), ("drain_id", .string($0.drainID)),
                         ("before", Self.rawJSON($0.before)), ("after", Self.rawJSON($0.after))])
            }).render()
        }
        return table(["AT", "ACTOR", "ACTION", "DRAIN", "AFTER"], events.map {
            [$0.at, $0.actor, $0.action, $0.drainID ?? "-", $0.after ?? "-"]
        })
    }

    public func workers(json: Bool) throws -> String {
        let all = try store.workers()
        if json {
            return JSONOutput.array(all.map {
                .object([("name", .string($0.name)), ("host", .string($0.host)), ("pid", .int($0.pid)),
                         ("started_at", .string($0.startedAt)), ("heartbeat_at", .string($0.heartbeatAt)),
                         ("in_flight", .int($0.inFlight))])
            }).render()
        }
        return table(["NAME", "HOST", "PID", "STARTED", "HEARTBEAT", "IN FLIGHT"], all.map {
            [$0.name, $0.host, String($0.pid), $0.startedAt, $0.heartbeatAt, String($0.inFlight)]
        })
    }

    /// The drain object of `show --json`, `list --json` and the API, with `secret` when given.
    public static func json(_ d: DrainStatus, secret: String? = nil) -> JSONOutput {
        guard let secret, case .object(var fields) = json(d) else { return json(d) }
        fields.append(("secret", .string(secret)))
        return .object(fields)
    }

    public static func json(_ d: DrainStatus) -> JSONOutput {
        .object([
            ("id", .string(d.id)), ("account", .string(d.account)), ("name", .string(d.name)), ("url", .string(d.url)),
            ("enabled", .bool(d.enabled)), ("disabled_reason", .string(d.disabledReason)),
            ("sampling_rate", .int(d.samplingRate)), ("consecutive_failures", .int(d.consecutiveFailures)),
            ("last_success_at", .string(d.lastSuccessAt)), ("last_failure_at", .string(d.lastFailureAt)),
            ("last_error", .string(d.lastError)), ("created_at", .string(d.createdAt)),
            ("delivered_lines", .int(d.deliveredLines)),
            ("lag_seconds", d.lagSeconds.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
            ("pending_delivery_id", .string(d.pendingDeliveryID)),
            ("gap", d.lastGapAt == nil ? .null : .object([
                ("reason", .string("retention")), ("lines", .int(d.gapLines)), ("last_at", .string(d.lastGapAt)),
                ("message", .string(gapText(d))),
            ])),
        ])
    }

    /// The retention gap in words (§2.14), or nil when nothing was ever skipped.
    public static func gapText(_ d: DrainStatus) -> String? {
        guard let at = d.lastGapAt else { return nil }
        return "\(d.gapLines) lines removed by retention (or by hand) before delivery were skipped (last at \(at))"
    }

    /// Audit before/after are JSON the database wrote; embed them as they are.
    static func rawJSON(_ text: String?) -> JSONOutput {
        guard let text else { return .null }
        return .raw(text)
    }

    public static func statusWord(_ d: DrainStatus) -> String {
        d.enabled ? "enabled" : "disabled (\(d.disabledReason ?? "manual"))"
    }

    public static func lag(_ seconds: Double?) -> String {
        guard let s = seconds else { return "caught up" }
        return s < 1 ? "<1s" : "\(Int(s))s"
    }
}
