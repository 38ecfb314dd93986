public import Foundation

/// A message the producer claimed: held under `leaseToken` until completed or released.
public struct ClaimedMessage: Sendable, Equatable {
    public var id: Int64
    /// The fencing token of this claim; only completions carrying it apply.
    public var leaseToken: Int64
    public var campaignID: Int64
    public var externalID: String
    /// The configured provider name.
    public var provider: String
    public var from: String
    public var to: String
    /// Nil only if the message has no body row (never written by `submit`).
    public var body: String?
    public var segments: Int
    /// Send requests so far, this one included.
    public var attempts: Int
    public var expiresAt: Date?
    public var firstAttemptAt: Date?
    public var leaseExpiresAt: Date?
    /// Secret of the message's callback URL.
    public var callbackToken: String
    /// The `{token}` of the message's callback URL.
    public var callbackKey: CallbackKey { CallbackKey(messageID: id, token: callbackToken) }

    public init(id: Int64, leaseToken: Int64, campaignID: Int64, externalID: String, provider: String, from: String, to: String,
                body: String?, segments: Int, attempts: Int, expiresAt: Date?, firstAttemptAt: Date?,
                leaseExpiresAt: Date?, callbackToken: String) {
        self.id = id
        self.leaseToken = leaseToken
        self.campaignID = campaignID
        self.externalID = externalID
        self.provider = provider
        self.from = from
        self.to = to
        self.body = body
        self.segments = segments
        self.attempts = attempts
        self.expiresAt = expiresAt
        self.firstAttemptAt = firstAttemptAt
        self.leaseExpiresAt = leaseExpiresAt
        self.callbackToken = callbackToken
    }

    /// Reads the columns the claim statements return.
    init(row: Row) throws {
        self.init(
            id: try row["id"], leaseToken: try row["lease_token"], campaignID: try row["campaign_id"],
            externalID: try row["external_id"], provider: try row["provider"], from: try row["from_number"],
            to: try row["to_number"], body: try row["body"], segments: try row["segments"], attempts: try row["attempts"],
            expiresAt: try row["expires_at"], firstAttemptAt: try row["first_attempt_at"],
            leaseExpiresAt: try row["lease_expires_at"], callbackToken: try row["callback_token"])
    }
}
