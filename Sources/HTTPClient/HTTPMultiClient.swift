internal import CCurl
import Synchronization

/// Many concurrent HTTPS POSTs driven by one `curl_multi` loop on the caller's thread.
/// Connections to the same host are reused across requests (up to `idleConnections` kept
/// idle), and TLS sessions across connections, so a new connection to a recent host resumes
/// its session instead of a full handshake (curl 7.88's shared cache keeps 8 sessions).
/// Not thread-safe; own it from one thread. Only `wakeup` may be used from others.
public final class HTTPMultiClient {
    private let multi: UnsafeMutableRawPointer
    /// The TLS session cache every transfer uses: an easy handle's own cache would go with it,
    /// and each transfer has a new one. Used from the client's one thread only, so unlocked.
    private let share: UnsafeMutableRawPointer
    private let config: HTTPClientConfiguration
    private var transfers: [Int: Transfer] = [:]  // keyed by the easy handle's address
    /// Ends a `poll` early from any thread (curl_multi_wakeup is documented thread-safe).
    public let wakeup: Wakeup

    /// Wakes the thread blocked in `poll`. Other threads hold it; the client clears the
    /// handle in its `deinit`, under the lock, so a late wake-up never touches a freed handle.
    public final class Wakeup: Sendable {
        /// The multi handle's address: curl_multi_wakeup is the one call curl allows on it
        /// from another thread, so only the address crosses threads, never the handle's use.
        private let address = Mutex<Int?>(nil)

        init(_ multi: UnsafeMutableRawPointer) { address.withLock { $0 = Int(bitPattern: multi) } }

        public func wake() {
            address.withLock { if let a = $0, let m = UnsafeMutableRawPointer(bitPattern: a) { _ = curl_multi_wakeup(m) } }
        }

        func invalidate() { address.withLock { $0 = nil } }
    }

    public struct Completion: Sendable {
        public let id: Int
        public let result: Result<HTTPResponse, HTTPError>
    }

    public init(configuration: HTTPClientConfiguration) {
        HTTPMultiClient.globalInit
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed") }
        guard let share = curl_share_init() else { fatalError("curl_share_init failed") }
        self.multi = multi
        self.share = share
        self.config = configuration
        self.wakeup = Wakeup(multi)
        _ = ld_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0)
        _ = ld_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(configuration.idleConnections, 1))
        // Without it transfers still work, each with a full handshake: not worth failing for.
        _ = ld_share_setopt_int(share, CURLSHOPT_SHARE, Int32(CURL_LOCK_DATA_SSL_SESSION.rawValue))
    }

    deinit {
        wakeup.invalidate()
        for t in transfers.values { curl_multi_remove_handle(multi, t.easy) }
        transfers.removeAll()  // each easy handle is cleaned up before the share they use
        curl_multi_cleanup(multi)
        curl_share_cleanup(share)
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public var inFlight: Int { transfers.count }

    /// Starts a request; its completion, tagged `id`, comes from a later `poll`.
    /// A request that cannot even start completes at the next poll with its error.
    public func start(_ request: HTTPRequest, id: Int) {
        do {
            let t = try Transfer(id: id, request: request, config: config, share: share)
            let rc = curl_multi_add_handle(multi, t.easy)
            guard rc == CURLM_OK else {
                pending.append(Completion(id: id, result: .failure(HTTPError(
                    kind: .other, message: String(cString: curl_multi_strerror(rc)),
                    displayURL: request.displayURL, seconds: 0))))
                return
            }
            transfers[Int(bitPattern: t.easy)] = t
        } catch let error as HTTPError {
            pending.append(Completion(id: id, result: .failure(error)))
        } catch {
            pending.append(Completion(id: id, result: .failure(HTTPError(kind: .other, message: "\(error)", displayURL: request.displayURL, seconds: 0))))
        }
    }

    private var pending: [Completion] = []

    /// Makes progress on every transfer, waiting up to `timeoutMs` for activity, and returns
    /// those that finished.
    public func poll(timeoutMs: Int) -> [Completion] {
        var running: Int32 = 0
        curl_multi_perform(multi, &running)
        var done = collect()
        if done.isEmpty {
            var fds: Int32 = 0
            curl_multi_poll(multi, nil, 0, Int32(timeoutMs), &fds)
            curl_multi_perform(multi, &running)
            done = collect()
        }
        return done
    }

    /// Sends one request and waits for it (used by one-shot callers such as `drain-admin test`).
    public func send(_ request: HTTPRequest) -> Result<HTTPResponse, HTTPError> {
        let id = -1
        start(request, id: id)
        while true {
            for c in poll(timeoutMs: 100) where c.id == id { return c.result }
        }
    }

    private func collect() -> [Completion] {
        var done = pending
        pending.removeAll()
        var remaining: Int32 = 0
        while let msg = curl_multi_info_read(multi, &remaining) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
            let code = msg.pointee.data.result
            curl_multi_remove_handle(multi, easy)
            if let t = transfers.removeValue(forKey: Int(bitPattern: easy)) {
                done.append(Completion(id: t.id, result: t.finish(code)))
            }
        }
        return done
    }
}
