/// A drain as the contract shows it (DESIGN §3): the object of `show --json`, `list --json`
/// and the JSON API, and the words the tables and the dashboard use.
extension DrainStatus {
    /// The drain object, keys in the contract's order, with `secret` when given (a generated
    /// secret, shown once).
    public func json(secret: String? = nil) -> JSONOutput {
        var fields: [(String, JSONOutput)] = [
            ("id", .string(id)), ("account", .string(account)), ("name", .string(name)), ("url", .string(url)),
            ("enabled", .bool(enabled)), ("disabled_reason", .string(disabledReason)),
            ("sampling_rate", .int(samplingRate)), ("consecutive_failures", .int(consecutiveFailures)),
            ("last_success_at", .string(lastSuccessAt)), ("last_failure_at", .string(lastFailureAt)),
            ("last_error", .string(lastError)), ("created_at", .string(createdAt)),
            ("delivered_lines", .int(deliveredLines)),
            ("lag_seconds", lagSeconds.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
            ("pending_delivery_id", .string(pendingDeliveryID)),
            ("gap", lastGapAt == nil ? .null : .object([
                ("reason", .string("retention")), ("lines", .int(gapLines)), ("last_at", .string(lastGapAt)),
                ("message", .string(gapText)),
            ])),
        ]
        if let secret { fields.append(("secret", .string(secret))) }
        return .object(fields)
    }

    /// The retention gap in words (§2.14), or nil when nothing was ever skipped.
    public var gapText: String? {
        guard let at = lastGapAt else { return nil }
        return "\(gapLines) lines removed by retention (or by hand) before delivery were skipped (last at \(at))"
    }

    public var statusWord: String { enabled ? "enabled" : "disabled (\(disabledReason ?? "manual"))" }

    public var lagText: String {
        guard let s = lagSeconds else { return "caught up" }
        return s < 1 ? "<1s" : "\(Int(s))s"
    }
}
