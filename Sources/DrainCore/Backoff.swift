/// Retry scheduling after a failed delivery (DESIGN §2.7): exponential from `base`, capped at
/// `cap`, with jitter so that drains failing together do not retry together.
public struct Backoff: Sendable, Equatable {
    public var base: Double
    public var cap: Double

    public init(base: Double = 1, cap: Double = 60) {
        self.base = base
        self.cap = cap
    }

    /// The un-jittered delay after the `failures`-th consecutive failure (1-based).
    public func ceiling(afterFailures failures: Int) -> Double {
        let exponent = Double(max(0, min(failures - 1, 30)))
        return min(cap, base * pow2(exponent))
    }

    /// The delay to wait: "equal jitter", between half the ceiling and the ceiling. A
    /// `Retry-After` (seconds) is honoured up to the cap and never shortened by jitter.
    public func delay(afterFailures failures: Int, retryAfter: Double? = nil,
                      random: Double = Double.random(in: 0..<1)) -> Double {
        let c = ceiling(afterFailures: failures)
        let jittered = c / 2 + c / 2 * random
        guard let retryAfter, retryAfter > 0 else { return jittered }
        return max(jittered, min(retryAfter, cap))
    }

    private func pow2(_ e: Double) -> Double {
        var r = 1.0
        for _ in 0..<Int(e) { r *= 2 }
        return r
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" || s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
