/// Every number the contract fixes, once. The database reads the same values: `migrate`
/// creates `logdrain_limit(name)` from `Limits.sqlValues` (`SQL.Limits`), and the SQL functions
/// and constraints call it (sql/009_limits.sql); `LimitsTests` checks the two agree.
public enum Limits {
    // MARK: drains (DESIGN §1)

    /// Most lines per batch: a drain's `sampling_rate`.
    public static let samplingRates = 1...5000
    public static var maxSamplingRate: Int { samplingRates.upperBound }
    public static let defaultSamplingRate = 1000
    /// A new drain, or one enabled with `--skip-backlog`, delivers lines from this many seconds
    /// before its creation on (§2.8).
    public static let recentWindowSeconds = 30
    /// Consecutive failures, counted against the configuration they were sent with, after
    /// which the worker disables the drain with reason `failures` (§2.7).
    public static let failuresBeforeDisable = 5
    /// `delivery_attempts` keeps this many recent attempts per drain, as a ring.
    public static let attemptHistorySlots = 20

    // MARK: delivery (§2.5, §3)

    /// An attempt that has not answered in this many seconds is a failure.
    public static let deliveryTimeoutSeconds = 10.0
    /// A claim's lease: a worker that dies mid-delivery leaves its drains to others after this.
    public static let defaultLeaseSeconds = 30.0

    // MARK: sizes (§2.13)

    /// A batch ends before its body would exceed this; only a batch of one line may be larger.
    public static let maxBatchBytes = 4_194_304
    /// Producer limits, in bytes of UTF-8 (`logs` constraints, sql/003_delivery_v2.sql).
    public static let maxMessageBytes = 1_048_576
    public static let maxLevelBytes = 64
    public static let maxLabelBytes = 1024

    /// The values the database reads through `logdrain_limit(name)`.
    public static let sqlValues: [(name: String, value: Int)] = [
        ("min_sampling_rate", samplingRates.lowerBound),
        ("max_sampling_rate", samplingRates.upperBound),
        ("default_sampling_rate", defaultSamplingRate),
        ("recent_window_seconds", recentWindowSeconds),
        ("failures_before_disable", failuresBeforeDisable),
        ("attempt_history_slots", attemptHistorySlots),
        ("max_batch_bytes", maxBatchBytes),
        ("max_message_bytes", maxMessageBytes),
        ("max_level_bytes", maxLevelBytes),
        ("max_label_bytes", maxLabelBytes),
    ]
}
