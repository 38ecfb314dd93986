public import Foundation

/// One message to send. Numbers are E.164 (`+12025550143`); Restcomm also takes `client:NAME`.
public struct OutgoingSMS: Sendable, Equatable {
    public var from: String
    public var to: String
    public var body: String
    /// Where the provider posts status callbacks (Plum `result_url`, Restcomm `StatusCallback`).
    public var callbackURL: URL?

    public init(from: String, to: String, body: String, callbackURL: URL? = nil) {
        self.from = from
        self.to = to
        self.body = body
        self.callbackURL = callbackURL
    }
}
