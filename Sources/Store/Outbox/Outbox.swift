/// Names shared by the outbox's writers and readers, and the index of every statement.
///
/// # The statement catalogue
///
/// The whole database surface of the dispatcher, one function per statement (a few run a
/// short transaction of several), named `<noun><Verb>[IfHeld][Many]`: the table or concern,
/// what it does, `IfHeld` when it applies only under the caller's fencing token, `Many` when
/// it takes or returns a batch. Each is its error's `statement` (`PostgresError`). None has
/// a defaulted configuration parameter: callers pass their documented configuration.
/// States, statuses, kinds and sources come from `MessageState`, `CampaignState`,
/// `EventKind` and `EventSource`; repeated SQL from the fragments of `Outbox+Fragments.swift`
/// (`optedOut`, `haltedKeys`/`messageNotHalted`, `eventsInsert`).
///
/// Messages (`messages`, with their events)
/// - `messagesClaim` (Outbox+Claim): the producer's claim of due messages, finalising the
///   expired and opted-out ones.
/// - `messagesComplete` (Outbox+Complete): the completer's and rescuer's outcomes, applied
///   under the fencing token.
/// - `messagesRescue` (Outbox+Rescue): expired leases → `in_doubt`.
/// - `messagesInDoubtClaim`, `messagesInDoubtDefer` (Outbox+Rescue): the rescuer's hold on
///   in-doubt messages for a provider lookup, and its release.
/// - `messagesProviderIDsKnown` (Outbox+Rescue): provider ids other messages already carry.
/// - `messagesExpire` (Outbox+Expiry): pending messages past `expires_at` → `expired`.
/// - `messagesOutstanding` (Outbox+Idle): whether `run --until-idle` has work left.
/// - `pollsClaim`, `pollsGiveUp` (Outbox+Polls): messages due for a status poll; those never
///   settled → `unconfirmed`.
/// - `messagesRequeueFailed` (Outbox+Requeue): the operator's retry of failed messages.
/// - `messageFind`, `messageStatus` (Outbox+Reports): `dispatcher status`.
/// - `messageCountByState` (Outbox+Reports): the `dispatcher_messages` gauge.
///
/// Callbacks and the inbox (`callback_inbox`)
/// - `callbackKeyCheck`, `callbackNotUnderstoodRecord` (Outbox+CallbackKeys): a callback's
///   key, and a callback whose status is not acted on.
/// - `callbacksStore`, `pollReportsStore` (Outbox+Inbox): reports into the inbox.
/// - `reportsApply` (Outbox+Inbox): reports applied forward only.
/// - `callbackInboxProviderIDs` (Outbox+Inbox): provider ids stored reports name.
///
/// Campaigns (`campaigns`)
/// - `CampaignEnqueuer` (submit): the campaign found or created and locked, message ids
///   allocated, messages and bodies copied in, opt-outs checked (`optedOut`), suppression
///   events and rejected rows written.
/// - `campaignCancel`, `campaignSetPaused`, `campaignsPrune` (Outbox+Campaigns).
/// - `campaignReports` (Outbox+Reports): `dispatcher report`, from the report views.
///
/// Inbound SMS and opt-outs (`inbound_messages`, `opt_outs`)
/// - `inboundRecord` (Outbox+Inbound): an inbound SMS, and STOP / START.
/// - `optOutAdd`, `suppressPending` (Outbox+OptOuts).
///
/// Rate limits and provider availability (`rate_limits`, `RateLimits`)
/// - `rateLimitsConfigure`, `rateLimitsReserve`, `rateLimitsSlowDown`.
/// - `rateLimitsHalt`, `rateLimitsResume`, `rateLimitsHalted`.
/// - `rateLimitsMarkUnavailable`, `rateLimitsProbesClaim`, `rateLimitsMarkAvailable`,
///   `rateLimitsUnavailable`.
public enum Outbox {
    /// The NOTIFY channel that wakes idle workers when work is enqueued or comes due.
    public static let workChannel = "dispatcher_work"

    /// States in which a message is finished for good.
    public static let finalStates = MessageState.finals
}
