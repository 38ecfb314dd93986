/// What a `message_events` row records (`kind`).
public enum EventKind: String, SQLVocabulary {
    /// The producer claimed the message (`pending` → `sending`), with the lease token.
    case claimed
    /// A request to the provider, with its HTTP status, provider status, errors and latency;
    /// when its outcome applied, also the transition.
    case attempt
    /// A transition without a request: expiry, a lease sweep, a release, a lookup's verdict,
    /// an operator's retry.
    case state
    /// The recipient is on the opt-out list: the message will never be sent.
    case suppressed
    /// The message's campaign was cancelled.
    case cancelled
    /// A provider callback (applied or not, with its outcome in `detail`).
    case callback
    /// A callback naming another provider id than the message's: nothing changed.
    case callbackRejected = "callback_rejected"
    /// A status poll's report.
    case poll
    /// No final status came within the provider's reporting window.
    case unconfirmed
    /// A reply of ours (a STOP or START confirmation, a HELP reply) sent back in the provider's
    /// answer to an inbound SMS: recorded as a `sent` message of the system campaign.
    case reply
}
