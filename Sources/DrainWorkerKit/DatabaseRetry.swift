import Logging
import DrainStore

/// The one reconnect policy of the worker's database side: after a database error, wait a
/// delay that doubles from 0.25 s to 5 s before the next try (never a tight loop); log once
/// when the database goes away and once when it is back, never per attempt.
struct DatabaseRetry {
    private(set) var isDown = false
    private var paused = false
    private var delay: Duration = .milliseconds(250)
    private var retryAt = ContinuousClock.now

    static let firstDelay: Duration = .milliseconds(250)
    static let longestDelay: Duration = .seconds(5)

    /// The last statement failed (whatever the error); cleared by the next success.
    var lastTryFailed: Bool { paused }

    /// Whether to try the database now.
    func mayTry(at now: ContinuousClock.Instant = .now) -> Bool { !paused || now >= retryAt }

    /// When the next try is due (now unless paused).
    var nextTry: ContinuousClock.Instant { paused ? retryAt : .now }

    mutating func failed(_ error: StoreError, logger: Logger) {
        if error.isConnectionLoss {
            if !isDown { logger.error("database unavailable; retrying", metadata: ["error": "\(error)"]) }
            isDown = true
        } else {
            logger.error("database error", metadata: ["error": "\(error)"])
        }
        paused = true
        retryAt = .now + delay
        delay = min(delay * 2, Self.longestDelay)
    }

    mutating func succeeded(logger: Logger) {
        if isDown { logger.notice("database connection restored") }
        isDown = false
        paused = false
        delay = Self.firstDelay
    }
}
