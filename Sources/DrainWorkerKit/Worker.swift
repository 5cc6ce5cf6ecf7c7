import Delivery
import DrainCore
import Foundation
import Logging

/// One drain-worker process: two threads that never wait on each other. The database side
/// (`DatabaseLoop`, its own thread and connection) claims due drains, reads and begins their
/// batches and records outcomes; the HTTP side (`HTTPLoop`, on the thread that calls `run()`)
/// drives every exchange through one curl_multi. A stalled database holds up no response, and a
/// slow endpoint holds up no statement.
public final class Worker {
    private let config: WorkerConfiguration
    private let logger: Logger
    private let stop: StopFlag
    public let metrics: WorkerMetrics
    public let health = WorkerHealth()

    public init(configuration: WorkerConfiguration, logger: Logger, stop: StopFlag) {
        self.config = configuration
        self.logger = logger
        self.stop = stop
        self.metrics = WorkerMetrics(worker: configuration.name)
    }

    /// Runs until SIGTERM/SIGINT, then finishes what is in flight and returns.
    public func run() throws {
        if let address = config.metricsAddress {
            try HealthServer.start(address: address, metrics: metrics, health: health, logger: logger)
        }
        let client = EndpointClient(caFile: config.caFile, allowPrivate: config.allowPrivateEndpoints, proxy: config.proxy,
                                    concurrency: config.concurrency)
        let sends = SendQueue(wakeup: client.wakeup)
        let completions = CompletionQueue()
        let finished = DispatchSemaphore(value: 0)
        let (config, logger, metrics, health, stop) = (self.config, self.logger, self.metrics, self.health, self.stop)
        let database = Thread {
            DatabaseLoop(config: config, logger: logger, metrics: metrics, health: health, stop: stop,
                         sends: sends, completions: completions).run()
            finished.signal()
        }
        database.name = "database"
        database.start()
        let maintenance = Thread { MaintenanceLoop(config: config, logger: logger, stop: stop).run() }
        maintenance.name = "maintenance"
        maintenance.start()
        logger.info("worker started", metadata: ["worker": "\(config.name)", "concurrency": "\(config.concurrency)",
                                                 "lease": "\(config.lease)", "interval": "\(config.interval)"])
        if config.secretKeys == nil {
            logger.notice("no secret keys file (--secret-keys-file or DRAIN_SECRET_KEYS_FILE): secrets are used as stored; drains with encrypted secrets are left to workers that have the key")
        }
        HTTPLoop(client: client, sends: sends, completions: completions).run()
        finished.wait()
        logger.info("worker stopped", metadata: ["worker": "\(config.name)"])
    }
}
