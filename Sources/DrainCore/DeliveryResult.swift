/// How one delivery attempt ended, as the worker records it.
public enum DeliveryResult: Sendable, Equatable {
    case success(status: Int, seconds: Double)
    case failure(status: Int?, error: String, retryDelay: Double, seconds: Double)
}
