public import Foundation

/// Totals over valid messages: what `validate` prints and `submit` reports.
public struct JobSummary: Sendable, Hashable {
    public struct SenderTotals: Sendable, Hashable {
        public var messages = 0
        public var segments = 0
    }

    public var messages = 0
    public var segments = 0
    /// Keyed by the sender's E.164 number.
    public var bySender: [String: SenderTotals] = [:]
    /// The earliest and latest due times (send time after the window).
    public var firstSendAt: Date?
    public var lastSendAt: Date?

    public init() {}

    public mutating func add(_ message: ValidatedMessage) {
        messages += 1
        segments += message.segments.segments
        bySender[message.from.e164, default: SenderTotals()].messages += 1
        bySender[message.from.e164, default: SenderTotals()].segments += message.segments.segments
        firstSendAt = min(firstSendAt ?? message.dueAt, message.dueAt)
        lastSendAt = max(lastSendAt ?? message.dueAt, message.dueAt)
    }

    public mutating func merge(_ other: JobSummary) {
        messages += other.messages
        segments += other.segments
        for (sender, totals) in other.bySender {
            bySender[sender, default: SenderTotals()].messages += totals.messages
            bySender[sender, default: SenderTotals()].segments += totals.segments
        }
        if let f = other.firstSendAt { firstSendAt = min(firstSendAt ?? f, f) }
        if let l = other.lastSendAt { lastSendAt = max(lastSendAt ?? l, l) }
    }
}
