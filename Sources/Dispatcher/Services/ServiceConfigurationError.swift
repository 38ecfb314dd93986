/// A service's `Configuration` that cannot work (a zero interval, a negative lease), found by
/// its `validate()` when the worker starts: one line naming the service and the field.
public struct ServiceConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var service: String
    public var field: String
    public var message: String

    public init(service: String, field: String, _ message: String) {
        self.service = service
        self.field = field
        self.message = message
    }

    public var description: String { "\(service): \(field) \(message)" }
}
