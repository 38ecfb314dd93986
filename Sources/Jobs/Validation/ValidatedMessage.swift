public import Foundation

/// One message ready to enqueue: everything normalised and computed.
public struct ValidatedMessage: Sendable, Hashable {
    /// The message id within its campaign: as given, or derived (`idIsDerived`).
    public var externalID: String
    public var idIsDerived: Bool
    public var to: Recipient
    public var from: PhoneNumber
    /// The rendered body, exactly as it will be sent.
    public var body: String
    public var segments: SegmentCount
    /// The requested send time (`send_at`, or now when none was given).
    public var sendAt: Date
    /// When it may first be sent: `max(sendAt, now)` moved into the send window.
    public var dueAt: Date
    public var expiresAt: Date?
    /// Where it came from: the CSV line of its row, or its index in `messages`.
    public var source: Source

    public enum Source: Sendable, Hashable {
        case csvLine(Int)
        case jsonIndex(Int)
    }

    public init(
        externalID: String, idIsDerived: Bool, to: Recipient, from: PhoneNumber, body: String,
        segments: SegmentCount, sendAt: Date, dueAt: Date, expiresAt: Date?, source: Source
    ) {
        self.externalID = externalID
        self.idIsDerived = idIsDerived
        self.to = to
        self.from = from
        self.body = body
        self.segments = segments
        self.sendAt = sendAt
        self.dueAt = dueAt
        self.expiresAt = expiresAt
        self.source = source
    }
}
