/// What operators and logs may see of an endpoint URL (DESIGN §3): `scheme://host[:port]/path`
/// with userinfo and every query value replaced by `***`, and token-like path segments
/// (16+ characters containing a digit) replaced by `***`. A bare query item (`?TOKEN`) and the
/// values of path parameters (`;key=value`) are values too. Fragments are dropped.
/// `logdrain_redact_url` in `sql/` is the same rule; a test keeps the two in step.
public enum URLRedaction {
    public static func redact(_ url: String) -> String {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return "***" }
        let scheme = url[..<colon]
        var rest = url[url.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var hadUserinfo = false
        if let at = authority.lastIndex(of: "@") {
            authority = authority[authority.index(after: at)...]
            hadUserinfo = true
        }
        var tail = rest[authorityEnd...]
        var query: Substring?
        if let q = tail.firstIndex(of: "?") {
            query = tail[tail.index(after: q)...]
            tail = tail[..<q]
        }
        let path = tail.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            isToken(segment) ? "***" : redactParameters(segment)
        }.joined(separator: "/")
        var out = "\(scheme)://\(hadUserinfo ? "***@" : "")\(authority)\(path)"
        if let query {
            let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
                guard let eq = pair.firstIndex(of: "=") else { return pair.isEmpty ? "" : "***" }
                return "\(pair[..<eq])=***"
            }
            out += "?" + parts.joined(separator: "&")
        }
        return out
    }

    /// `name;key=value;flag` → `name;key=***;***`.
    static func redactParameters(_ segment: Substring) -> String {
        let parts = segment.split(separator: ";", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return String(segment) }
        return ([String(parts[0])] + parts.dropFirst().map { p -> String in
            guard let eq = p.firstIndex(of: "=") else { return p.isEmpty ? "" : "***" }
            return "\(p[..<eq])=***"
        }).joined(separator: ";")
    }

    static func isToken(_ segment: Substring) -> Bool {
        segment.count >= 16 && segment.contains(where: \.isNumber)
    }
}
