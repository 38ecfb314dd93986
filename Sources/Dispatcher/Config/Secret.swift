/// A password or token: its value never appears in a description, log line or error.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "****" }
    public var debugDescription: String { "****" }
}
