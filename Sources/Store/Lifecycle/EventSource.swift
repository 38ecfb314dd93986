/// Who wrote a `message_events` row (`source`, mirrored in its CHECK constraint); also the
/// `source` of a `callback_inbox` report (`callback` or `poll` only).
public enum EventSource: String, SQLVocabulary {
    /// The worker itself: submit, claims, sends and their outcomes, lease and expiry sweeps.
    case dispatcher
    /// A provider's callback (a status report, or one rejected).
    case callback
    /// A status poll or an in-doubt lookup at the provider, and the poller's give-up.
    case poll
    /// An operator command: cancel, retry.
    case `operator`
}
