/// A provider's word about one message — from a callback or a status poll — in the
/// dispatcher's terms. Applied only through `inboxApplyMany`, the one place where the
/// lifecycle moves after acceptance, and only forward.
public struct ProviderReport: Sendable, Equatable {
    /// Callbacks: the `{token}` of the callback URL (`CallbackKey`: `ID.TOKEN`).
    public var token: String?
    /// Polls: the outbox id of the message polled.
    public var messageID: Int64?
    public var provider: String
    public var providerMessageID: String
    /// The provider's status word as given (`delivered`, `sent`, …).
    public var providerStatus: String
    /// What it means: accepted, sent, delivered, undelivered, failed, unconfirmed.
    public var state: MessageState
    public var errorCode: String?
    public var errorClass: String?
    /// The fields as received, form-encoded, for the event timeline.
    public var raw: String?

    public init(token: String? = nil, messageID: Int64? = nil, provider: String, providerMessageID: String,
                providerStatus: String, state: MessageState, errorCode: String? = nil, errorClass: String? = nil, raw: String? = nil) {
        self.token = token
        self.messageID = messageID
        self.provider = provider
        self.providerMessageID = providerMessageID
        self.providerStatus = providerStatus
        self.state = state
        self.errorCode = errorCode
        self.errorClass = errorClass
        self.raw = raw
    }
}
