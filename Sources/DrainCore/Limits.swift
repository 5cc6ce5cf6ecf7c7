/// Sizes the contract fixes (DESIGN §2.13): what one batch may carry, and what a producer may
/// write. The SQL constraints in `sql/003_delivery_v2.sql` state the producer limits again,
/// because PostgreSQL enforces them; `LimitsTests` keeps the two in step.
public enum WireLimits {
    /// A batch ends before its body would exceed this; only a batch of one line may be larger.
    public static let maxBatchBytes = 4_194_304
    /// Producer limits, in bytes of UTF-8.
    public static let maxMessageBytes = 1_048_576
    public static let maxLevelBytes = 64
    public static let maxLabelBytes = 1024
}

/// When failures disable a drain (DESIGN §2.7).
public enum FailurePolicy {
    /// Consecutive failures, counted against the configuration they were sent with, after
    /// which the worker disables the drain (reason `failures`).
    public static let disableAfter = 5
}
