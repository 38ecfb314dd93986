/// Where a message is in its lifecycle: `messages.state`, `message_events.from_state` and
/// `to_state`, `callback_inbox.state`, and the columns of the `campaign_report` view.
///
/// Mirrored in the CHECK constraint on `messages.state` and in `message_state_rank`; a test
/// holds the three together. Transitions only go forward (`rank`), except the operator's
/// retry of `failed` messages and the release of a claim that never made its request.
/// Each case says which service moves messages into it and out of it.
public enum MessageState: String, SQLVocabulary {
    /// Waiting to be sent from `next_attempt_at` on.
    ///
    /// In: submit (`CampaignEnqueuer`); the completer and the rescuer's lookup (a retry, or a
    /// claim released unsent); the operator's retry of failed messages.
    /// Out: the producer's claim (to `sending`, or `expired` / `suppressed` without sending);
    /// the rescuer's expiry sweep (`expired`); campaign cancel (`cancelled`); an inbound STOP
    /// (`suppressed`).
    case pending
    /// Claimed by a producer under a lease and a fencing token; its request may be in flight.
    ///
    /// In: the producer's claim.
    /// Out: the completer (`accepted`, `pending`, `failed`, `expired`, `inDoubt`); the
    /// rescuer's lease sweep when the lease ran out (`inDoubt`).
    case sending
    /// The outcome of a request is unknown: the provider may have taken it.
    ///
    /// In: the completer (a timeout, a lost answer); the rescuer's lease sweep; the operator's
    /// retry of a failed message that may have been taken.
    /// Out: the rescuer's provider lookup (`accepted` when found, `pending` to resend when
    /// provably not taken, or final); a provider report naming its id (`ReportApplier`).
    case inDoubt = "in_doubt"
    /// The provider took it and gave its id; callbacks and polls move it on.
    ///
    /// In: the completer; the rescuer's lookup (adopted); a provider report.
    /// Out: `ReportApplier` (reports from callbacks and the `StatusPoller`); the poller's
    /// give-up (`unconfirmed`).
    case accepted
    /// Handed to the carrier.
    ///
    /// In: `ReportApplier`. Out: `ReportApplier` (final); the poller's give-up (`unconfirmed`).
    case sent
    /// Final: the handset has it. In: `ReportApplier`.
    case delivered
    /// Final: the carrier gave up. In: `ReportApplier`.
    case undelivered
    /// Final (but the operator may retry it): the provider refused it, or attempts ran out.
    ///
    /// In: the completer and the rescuer's lookup; `ReportApplier`.
    /// Out: the operator's retry (`pending`, or `inDoubt` when the provider may have taken it).
    case failed
    /// Final: `expires_at` passed before it could go.
    ///
    /// In: the producer's claim; the rescuer's expiry sweep; the completer (the sender found it
    /// expired before its request); the rescuer's lookup.
    case expired
    /// Final: its campaign was cancelled before it was claimed. In: campaign cancel.
    case cancelled
    /// Final: the recipient opted out of its sender.
    ///
    /// In: submit (already opted out); the producer's claim; an inbound STOP (`inboundHandle`).
    case suppressed
    /// Final: no final status came within the provider's reporting window.
    ///
    /// In: the `StatusPoller`'s give-up; `ReportApplier` (Plum's own `unconfirmed`).
    case unconfirmed

    /// Finished for good: nothing moves the message on (but the operator's retry of `failed`).
    public var isFinal: Bool { rank == 4 }

    /// The forward order, as `message_state_rank` computes it: a report moves a message only
    /// to a higher rank; final states share the top rank, so the first one recorded stands.
    public var rank: Int {
        switch self {
        case .pending: 0
        case .sending, .inDoubt: 1
        case .accepted: 2
        case .sent: 3
        case .delivered, .undelivered, .failed, .expired, .cancelled, .suppressed, .unconfirmed: 4
        }
    }

    /// The final states.
    public static let finals = allCases.filter(\.isFinal)
}
