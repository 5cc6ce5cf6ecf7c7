import LibCrypto

/// Headers and signing shared by deliveries and test sends (DESIGN §2.5).
public enum DeliveryHeaders {
    public static let version = "0.1.0"
    public static let userAgent = "LogDrain/\(version)"
    public static let contentType = "application/x-ndjson"

    /// Lowercase hex HMAC-SHA256 of the exact body bytes keyed by the drain's secret:
    /// what the seed's `verify_signature` recomputes.
    public static func signature(body: [UInt8], secret: String) -> String {
        HMACSHA256.hex(key: secret, message: body)
    }

    public static func headers(body: [UInt8], secret: String, deliveryID: String, attempt: Int) -> [(name: String, value: String)] {
        [
            ("Content-Type", contentType),
            ("X-Fal-Signature", signature(body: body, secret: secret)),
            ("X-Fal-Delivery-Id", deliveryID),
            ("X-Fal-Delivery-Attempt", String(attempt)),
            ("User-Agent", userAgent),
        ]
    }
}
