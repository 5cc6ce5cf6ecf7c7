import CCurl

/// Many concurrent HTTPS POSTs driven by one `curl_multi` loop on the caller's thread.
/// Connections (and TLS sessions) to the same host are reused across requests.
/// Not thread-safe; own it from one thread.
public final class HTTPMultiClient {
    private let multi: UnsafeMutableRawPointer
    private let config: HTTPClientConfiguration
    private var transfers: [Int: Transfer] = [:]  // keyed by the easy handle's address

    public struct Completion {
        public let id: Int
        public let result: Result<HTTPResponse, HTTPError>
    }

    public init(configuration: HTTPClientConfiguration) {
        HTTPMultiClient.globalInit
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed") }
        self.multi = multi
        self.config = configuration
        _ = ld_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0)
    }

    deinit {
        for t in transfers.values { curl_multi_remove_handle(multi, t.easy) }
        transfers.removeAll()
        curl_multi_cleanup(multi)
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public var inFlight: Int { transfers.count }

    /// Starts a request; its completion, tagged `id`, comes from a later `poll`.
    /// A request that cannot even start completes at the next poll with its error.
    public func start(_ request: HTTPRequest, id: Int) {
        do {
            let t = try Transfer(id: id, request: request, config: config)
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

    /// Pushes every transfer as far as it goes without waiting (e.g. a request body into the
    /// socket) before the caller blocks on something else. Completions stay for `poll`.
    public func kick() {
        var running: Int32 = 0
        curl_multi_perform(multi, &running)
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
