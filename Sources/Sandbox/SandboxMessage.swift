public import Foundation

/// A message the sandbox accepted. Its status follows from the time elapsed since acceptance.
public struct SandboxMessage: Sendable, Equatable {
    public enum API: String, Sendable, Codable { case plum, restcomm }

    /// The message's status at some moment, in both APIs' words.
    public struct Status: Sendable, Equatable {
        /// Restcomm `status`: queued, sent, delivered, undelivered, failed.
        public var restcomm: String
        /// Plum `status`: queued, sent, failed.
        public var plum: String
        /// Plum `delivery_status`: delivered, undelivered, unconfirmed (once sent and final).
        public var plumDelivery: String?
        public var errorCode: Int?
        /// One word for statistics: queued, sent, delivered, undelivered, failed, unconfirmed.
        public var state: String
    }

    public let id: String
    public let api: API
    /// As received on the wire (Plum: 10-digit numbers; Restcomm: E.164).
    public let from: String
    public let to: String
    public let body: String
    /// The recipient in E.164, for the test-number table.
    public let recipient: String
    public let callbackURL: String?
    public let callbackMethod: String
    public let acceptedAt: Date
    public let sentAfter: Double
    public let finalAfter: Double
    public let fate: SandboxTestNumbers.Fate
    public let segments: Int
    /// Seconds after `acceptedAt` from which the list and status answers show the message
    /// (a late commit, a lagging list).
    public var visibleAfter: Double = 0

    /// Whether list and status answers show the message at `now`.
    public func isVisible(at now: Date) -> Bool {
        now.timeIntervalSince(acceptedAt) >= visibleAfter
    }

    public func status(at now: Date = Date()) -> Status {
        let elapsed = now.timeIntervalSince(acceptedAt)
        if elapsed < sentAfter {
            return Status(restcomm: "queued", plum: "queued", plumDelivery: nil, errorCode: nil, state: "queued")
        }
        let final = elapsed >= finalAfter
        switch fate {
        case .failed(let code):
            return Status(restcomm: "failed", plum: "failed", plumDelivery: nil, errorCode: code, state: "failed")
        case .unconfirmed:
            return Status(restcomm: "sent", plum: "sent", plumDelivery: final ? "unconfirmed" : nil, errorCode: nil,
                          state: final ? "unconfirmed" : "sent")
        case .delivered where final, .refused where final:
            return Status(restcomm: "delivered", plum: "sent", plumDelivery: "delivered", errorCode: nil, state: "delivered")
        case .undelivered(let code) where final:
            return Status(restcomm: "undelivered", plum: "sent", plumDelivery: "undelivered", errorCode: code, state: "undelivered")
        default:
            return Status(restcomm: "sent", plum: "sent", plumDelivery: nil, errorCode: nil, state: "sent")
        }
    }

    /// GSM-7 (160, or 153 per part) when every character is 7-bit printable, else UCS-2 (70/67).
    static func segments(of body: String) -> Int {
        let gsm = body.unicodeScalars.allSatisfy { ($0.value >= 32 && $0.value < 127) || $0 == "\n" || $0 == "\r" }
        let length = gsm ? body.unicodeScalars.count : body.utf16.count
        let (single, part) = gsm ? (160, 153) : (70, 67)
        return length <= single ? 1 : (length + part - 1) / part
    }
}
