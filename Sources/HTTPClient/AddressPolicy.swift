#if canImport(Glibc)
import Glibc
#endif

/// Classifies IP addresses that a customer-supplied endpoint must not reach: the worker's own
/// machine, its private network, link-local and cloud metadata addresses.
public enum AddressPolicy {
    /// Why `address` (textual IPv4 or IPv6) is not a public address, or nil when it is.
    public static func restriction(of address: String) -> String? {
        if let v4 = parseIPv4(address) { return restriction(ipv4: v4) }
        guard let v6 = parseIPv6(address) else { return "unparseable address" }
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms carry an IPv4 address.
        if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xFF && v6[11] == 0xFF {
            return restriction(ipv4: Array(v6[12..<16]))
        }
        if v6.allSatisfy({ $0 == 0 }) { return "unspecified address" }
        if v6[0..<15].allSatisfy({ $0 == 0 }) && v6[15] == 1 { return "loopback address" }
        if v6[0..<12].allSatisfy({ $0 == 0 }) {
            return restriction(ipv4: Array(v6[12..<16])) ?? "IPv4-compatible address"
        }
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48) wraps an IPv4 address.
        if v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xFF && v6[3] == 0x9B {
            if v6[4] == 0 && v6[5] == 1 { return "local-use NAT64 address" }
            return restriction(ipv4: Array(v6[12..<16]))
        }
        // 6to4 (2002::/16, an IPv4 address in bytes 2-5) and Teredo (2001::/32) tunnel through
        // relays nobody chose: refused; 2001:db8::/32 is for documentation; 100::/64 discards.
        if v6[0] == 0x20 && v6[1] == 0x02 { return restriction(ipv4: Array(v6[2..<6])) ?? "6to4 address" }
        if v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0 && v6[3] == 0 { return "Teredo address" }
        if v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0D && v6[3] == 0xB8 { return "documentation address" }
        if v6[0] == 0x01 && v6[1] == 0x00 && v6[2..<8].allSatisfy({ $0 == 0 }) { return "discard address" }
        if v6[0] & 0xFE == 0xFC { return "unique-local address" }
        if v6[0] == 0xFE && v6[1] & 0xC0 == 0x80 { return "link-local address" }
        if v6[0] == 0xFE && v6[1] & 0xC0 == 0xC0 { return "site-local address" }
        if v6[0] == 0xFF { return "multicast address" }
        // fd00:ec2::254 (a metadata address) is covered by unique-local.
        return nil
    }

    static func restriction(ipv4 b: [UInt8]) -> String? {
        switch (b[0], b[1]) {
        case (0, _): return "unspecified address"
        case (127, _): return "loopback address"
        case (10, _): return "private address"
        case (172, 16...31): return "private address"
        case (192, 168): return "private address"
        case (169, 254): return b[2] == 169 && b[3] == 254 ? "metadata address" : "link-local address"
        case (100, 64...127): return "shared (carrier-grade NAT) address"
        case (192, 0) where b[2] == 0: return "IETF protocol address"
        case (192, 0) where b[2] == 2, (198, 51) where b[2] == 100, (203, 0) where b[2] == 113:
            return "documentation address"
        case (192, 88) where b[2] == 99: return "6to4 relay address"
        case (198, 18...19): return "benchmarking address"
        case (224...255, _): return "multicast or reserved address"
        default: return nil
        }
    }

    static func parseIPv4(_ s: String) -> [UInt8]? {
        var addr = in_addr()
        guard inet_pton(AF_INET, s, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: addr) { Array($0) }
    }

    static func parseIPv6(_ s: String) -> [UInt8]? {
        // Zone ids (fe80::1%eth0) are link-local by definition.
        let bare = s.split(separator: "%", maxSplits: 1).first.map(String.init) ?? s
        var addr = in6_addr()
        guard inet_pton(AF_INET6, bare, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: addr) { Array($0) }
    }

    /// Resolves `host` with the system resolver; the textual addresses, or an error message.
    public static func resolve(host: String, port: Int) -> Result<[String], HTTPError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let list else {
            let message = rc == 0 ? "no addresses" : String(cString: gai_strerror(rc))
            return .failure(HTTPError(kind: .dns, message: "could not resolve \(host): \(message)", displayURL: host, seconds: 0))
        }
        defer { freeaddrinfo(list) }
        var out: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = list
        while let n = node {
            if let address = n.pointee.ai_addr, let text = text(of: UnsafeRawPointer(address), family: n.pointee.ai_family),
               !out.contains(text) {
                out.append(text)
            }
            node = n.pointee.ai_next
        }
        return .success(out)
    }

    /// The textual form of a socket address (`sockaddr_in` or `sockaddr_in6` at `address`).
    public static func text(of address: UnsafeRawPointer, family: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch family {
        case AF_INET:
            var a = address.loadUnaligned(as: sockaddr_in.self).sin_addr
            guard inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        case AF_INET6:
            var a = address.loadUnaligned(as: sockaddr_in6.self).sin6_addr
            guard inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        default:
            return nil
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
