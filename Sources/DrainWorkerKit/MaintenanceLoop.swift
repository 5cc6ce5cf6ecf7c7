import DrainStore
import Foundation
import Logging

/// The hourly upkeep (partitions ahead, retention behind) that every worker offers and exactly
/// one runs: each asks every few minutes, and `logdrain_maintain` (advisory lock, last-run time)
/// runs it only when no one has within the hour. On its own thread and connection, so a long
/// partition drop never delays a claim or an outcome.
final class MaintenanceLoop {
    private let config: WorkerConfiguration
    private let logger: Logger
    private let stop: StopFlag
    /// How often to ask; the database decides whether an hour has passed.
    static let askEvery: Double = 300

    init(config: WorkerConfiguration, logger: Logger, stop: StopFlag) {
        self.config = config
        self.logger = logger
        self.stop = stop
    }

    func run() {
        var store: DeliveryStore?
        // A first ask soon after start (spread over ten seconds so a fleet restart is not a herd).
        var nextAsk = Date().addingTimeInterval(Double.random(in: 1...10))
        while !stop.isSet {
            if Date() >= nextAsk {
                do {
                    let db = try store ?? DeliveryStore.connect(url: config.databaseURL, workerName: config.name,
                                                                transactionPooling: config.transactionPooling)
                    store = db
                    if let r = try db.maintainIfDue() {
                        logger.info("maintenance ran", metadata: ["partitions_created": "\(r.created)",
                                                                  "partitions_dropped": "\(r.dropped)",
                                                                  "retention_days": "\(r.retentionDays)"])
                    }
                } catch let error as StoreError where error.isConnectionLoss {
                    // The delivery loop reports the database's state; here it is only a retry later.
                    logger.debug("maintenance not run", metadata: ["error": "\(error)"])
                    store = nil
                } catch {
                    // A lock it could not get in time (55P03), a permission or schema problem:
                    // upkeep that keeps failing fills the default partition and the disk.
                    logger.warning("maintenance failed; asking again in a few minutes", metadata: ["error": "\(error)"])
                }
                nextAsk = Date().addingTimeInterval(Self.askEvery * Double.random(in: 0.8...1.2))
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }
}
