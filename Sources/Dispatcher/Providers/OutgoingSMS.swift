public import Foundation

/// One message to send. Numbers are E.164 (`+12025550143`); Restcomm also takes `client:NAME`.
public struct OutgoingSMS: Sendable, Equatable {
    public var from: String
    public var to: String
    public var body: String
    /// Where the provider posts status callbacks (Plum `result_url`, Restcomm `StatusCallback`).
    public var callbackURL: URL?
    /// The request must not start going out after this (the end of the sender's lease).
    public var sendBy: ContinuousClock.Instant?

    public init(from: String, to: String, body: String, callbackURL: URL? = nil, sendBy: ContinuousClock.Instant? = nil) {
        self.from = from
        self.to = to
        self.body = body
        self.callbackURL = callbackURL
        self.sendBy = sendBy
    }
}
