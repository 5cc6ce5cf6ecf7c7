internal import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// One in-flight exchange: owns its easy handle, header list and error buffer.
final class Transfer {
    let id: Int
    let easy: UnsafeMutableRawPointer
    let displayURL: String
    private var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer: UnsafeMutablePointer<CChar>
    let maxBody: Int
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    /// Set when the body reached the cap and reading stopped on purpose.
    var truncated = false
    /// Set when an address of the endpoint is forbidden (checked before each connection).
    var forbiddenReason: String?
    /// The address policy applies: private endpoints are not allowed and no explicit proxy is
    /// the egress (a proxy connection's address is the proxy's, which the operator chose).
    let checksAddresses: Bool

    init(id: Int, request: HTTPRequest, config: HTTPClientConfiguration, share: UnsafeMutableRawPointer) throws {
        guard let easy = curl_easy_init() else {
            throw HTTPError(kind: .other, message: "curl_easy_init failed", displayURL: request.displayURL, seconds: 0)
        }
        self.id = id
        self.easy = easy
        self.displayURL = request.displayURL
        self.maxBody = config.maxResponseBytes
        self.checksAddresses = !config.allowPrivateAddresses && config.proxy == nil
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        for h in request.headers {
            headerList = curl_slist_append(headerList, "\(h.name): \(h.value)")
        }
        // An empty Expect: stops curl from waiting for "100 Continue" on large bodies.
        headerList = curl_slist_append(headerList, "Expect:")
        try configure(request: request, config: config)
        guard ld_setopt_ptr(easy, CURLOPT_SHARE, share) == CURLE_OK else {
            throw HTTPError(kind: .other, message: "TLS session cache: cannot share", displayURL: displayURL, seconds: 0)
        }
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    private func configure(request: HTTPRequest, config: HTTPClientConfiguration) throws {
        func check(_ code: CURLcode, _ what: String) throws {
            guard code == CURLE_OK else {
                throw HTTPError(kind: .other, message: "\(what): \(String(cString: curl_easy_strerror(code)))",
                                displayURL: displayURL, seconds: 0)
            }
        }
        try check(ld_setopt_str(easy, CURLOPT_URL, request.url), "invalid URL")
        try check(ld_setopt_str(easy, CURLOPT_PROTOCOLS_STR, "https"), "protocols")
        try check(ld_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "nosignal")
        try check(ld_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0), "redirects")
        // Direct connections unless a proxy is configured explicitly: "" makes curl ignore
        // HTTPS_PROXY, ALL_PROXY and their lowercase forms (§2.16), which would otherwise move
        // every connection, and so the address policy, onto the proxy's address.
        try check(ld_setopt_str(easy, CURLOPT_PROXY, config.proxy ?? ""), "proxy")
        try check(ld_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(request.timeout * 1000)), "timeout")
        try check(ld_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1), "verify peer")
        try check(ld_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2), "verify host")
        if let ca = config.caFile {
            try check(ld_setopt_str(easy, CURLOPT_CAINFO, ca), "CA file")
            // CAINFO replaces the default bundle; the system directory keeps public CAs trusted.
            try check(ld_setopt_str(easy, CURLOPT_CAPATH, "/etc/ssl/certs"), "CA path")
        }
        try check(ld_setopt_str(easy, CURLOPT_USERAGENT, config.userAgent), "user agent")
        try check(ld_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList), "headers")
        try check(ld_setopt_long(easy, CURLOPT_POST, 1), "post")
        try check(ld_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)), "body size")
        try request.body.withUnsafeBytes { raw in
            // COPYPOSTFIELDS copies: the body outlives this call without Swift pinning it.
            try check(ld_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)), "body")
        }
        try check(ld_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer), "error buffer")
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(ld_setopt_write(easy, transferWriteBody), "write function")
        try check(ld_setopt_ptr(easy, CURLOPT_WRITEDATA, me), "write data")
        try check(ld_setopt_header(easy, transferWriteHeader), "header function")
        try check(ld_setopt_ptr(easy, CURLOPT_HEADERDATA, me), "header data")
        try check(ld_setopt_opensocket(easy, transferOpenSocket), "open socket function")
        try check(ld_setopt_ptr(easy, CURLOPT_OPENSOCKETDATA, me), "open socket data")
        try check(ld_setopt_prereq(easy, transferPrereq), "prereq function")
        try check(ld_setopt_ptr(easy, CURLOPT_PREREQDATA, me), "prereq data")
    }

    func info(_ key: CURLINFO) -> Int {
        var value = 0
        _ = ld_getinfo_long(easy, key, &value)
        return value
    }

    var totalSeconds: Double {
        var value = 0.0
        _ = ld_getinfo_double(easy, CURLINFO_TOTAL_TIME, &value)
        return value
    }

    var primaryIP: String? {
        var p: UnsafeMutablePointer<CChar>?
        guard ld_getinfo_str(easy, CURLINFO_PRIMARY_IP, &p) == CURLE_OK, let p else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }

    /// Turns curl's final code into a response or a typed error.
    func finish(_ code: CURLcode) -> Result<HTTPResponse, HTTPError> {
        let status = info(CURLINFO_RESPONSE_CODE)
        if code == CURLE_OK || (code == CURLE_WRITE_ERROR && truncated && status > 0) {
            return .success(HTTPResponse(status: status, headers: headers, body: body,
                                         seconds: totalSeconds, remoteAddress: primaryIP))
        }
        let detail = String(cString: errorBuffer)
        var message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let kind: HTTPError.Kind
        switch code {
        case CURLE_COULDNT_CONNECT where forbiddenReason != nil:
            kind = .forbiddenAddress
            message = forbiddenReason!
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .dns
        case CURLE_COULDNT_CONNECT: kind = .connect
        case CURLE_OPERATION_TIMEDOUT: kind = .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            kind = .tls
        case CURLE_ABORTED_BY_CALLBACK where forbiddenReason != nil:
            kind = .forbiddenAddress
            message = forbiddenReason!
        default: kind = .other
        }
        return .failure(HTTPError(kind: kind, message: message, displayURL: displayURL, seconds: totalSeconds))
    }
}

private let transferWriteBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, user in
    let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
    let n = size * count
    let room = transfer.maxBody - transfer.body.count
    guard let data, n > 0 else { return n }
    data.withMemoryRebound(to: UInt8.self, capacity: n) { p in
        transfer.body.append(contentsOf: UnsafeBufferPointer(start: p, count: min(n, max(room, 0))))
    }
    if n > room {
        // Stop reading: the status is already known, the rest of the body is not our business.
        transfer.truncated = true
        return 0
    }
    return n
}

private let transferWriteHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, user in
    let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
    let n = size * count
    guard let data else { return n }
    let line = data.withMemoryRebound(to: UInt8.self, capacity: n) {
        String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") { transfer.headers = [:]; return n }  // a new response (e.g. after 100)
    if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        transfer.headers[name] = value
    }
    return n
}

/// Runs before each connection is opened, with the address curl is about to connect to: a
/// forbidden address gets no socket, so not even a SYN (§2.17). curl then tries the endpoint's
/// other addresses, and fails with "couldn't connect" when none is allowed.
private let transferOpenSocket: @convention(c) (UnsafeMutableRawPointer?, curlsocktype, UnsafeMutablePointer<curl_sockaddr>?) -> curl_socket_t = { user, _, address in
    let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
    guard let address else { return CURL_SOCKET_BAD }
    if transfer.checksAddresses {
        // The address is stored past the struct's own `sockaddr` field (an IPv6 one is larger).
        let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
        let ip = AddressPolicy.text(of: UnsafeRawPointer(address) + offset, family: address.pointee.family) ?? "an unreadable address"
        if let reason = AddressPolicy.restriction(of: ip) {
            transfer.forbiddenReason = "endpoint resolves to \(ip), a \(reason); refused (allow with --allow-private-endpoints)"
            return CURL_SOCKET_BAD
        }
    }
    return socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
}

/// Runs after connecting and before the request is sent: a second look at the address actually
/// connected to (the socket check above already refused forbidden ones before connecting).
private let transferPrereq: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int32, Int32) -> Int32 = { user, primaryIP, _, _, _ in
    let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
    if !transfer.checksAddresses { return Int32(CURL_PREREQFUNC_OK) }
    let ip = primaryIP.map { String(cString: $0) } ?? ""
    if let reason = AddressPolicy.restriction(of: ip) {
        transfer.forbiddenReason = "endpoint resolves to \(ip), a \(reason); refused (allow with --allow-private-endpoints)"
        return Int32(CURL_PREREQFUNC_ABORT)
    }
    return Int32(CURL_PREREQFUNC_OK)
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
