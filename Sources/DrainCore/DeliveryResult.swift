/// How one delivery attempt ended, as the worker records it.
public enum DeliveryResult: Sendable {
    case success(status: Int, seconds: Double)
    case failure(status: Int?, error: String, retryDelay: Double, seconds: Double)
}
