import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Set once by SIGTERM or SIGINT; the delivery loop polls it between steps.
public final class StopFlag: Sendable {
    private let stopped = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { stopped.load(ordering: .acquiring) }
    public func set() { stopped.store(true, ordering: .releasing) }

    /// Routes SIGTERM and SIGINT to this flag instead of killing the process.
    public func installSignalHandlers() -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in set() }
            source.resume()
            return source
        }
    }
}
