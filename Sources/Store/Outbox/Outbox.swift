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
/// - `messageClaimMany` (Outbox+Claim): the producer's claim of due messages, finalising the
///   expired and opted-out ones.
/// - `messageCompleteIfHeldMany` (Outbox+Complete): the completer's and rescuer's outcomes, applied
///   under the fencing token.
/// - `messageRescueMany` (Outbox+Rescue): expired leases → `in_doubt`.
/// - `messageInDoubtClaimMany`, `messageInDoubtDeferIfHeld` (Outbox+Rescue): the rescuer's hold on
///   in-doubt messages for a provider lookup, and its release.
/// - `messageProviderIDListTaken` (Outbox+Rescue): provider ids other messages already carry.
/// - `messageExpireMany` (Outbox+Expiry): pending messages past `expires_at` → `expired`.
/// - `messageOutstandingExists` (Outbox+Idle): whether `run --until-idle` has work left.
/// - `messagePollClaimMany`, `messagePollGiveUpMany` (Outbox+Polls): messages due for a status poll; those never
///   settled → `unconfirmed`.
/// - `messageRequeueFailedMany` (Outbox+Requeue): the operator's retry of failed messages.
/// - `messageFind`, `messageGetWithEvents` (Outbox+Reports): `dispatcher status`.
/// - `messageCountByState` (Outbox+Reports): the `dispatcher_messages` gauge.
///
/// Callbacks and the inbox (`callback_inbox`)
/// - `callbackKeyCheck`, `callbackNotUnderstoodRecord` (Outbox+CallbackKeys): a callback's
///   key, and a callback whose status is not acted on.
/// - `inboxCallbackInsertMany`, `inboxPollInsertMany` (Outbox+Inbox): reports into the inbox.
/// - `inboxApplyMany` (Outbox+Inbox): reports applied forward only.
/// - `inboxProviderIDList` (Outbox+Inbox): provider ids stored reports name.
///
/// Campaigns (`campaigns`)
/// - `CampaignEnqueuer` (submit): the campaign found or created and locked, message ids
///   allocated, messages and bodies copied in, opt-outs checked (`optedOut`), suppression
///   events and rejected rows written.
/// - `campaignCancel`, `campaignSetPaused`, `campaignPruneMany`, `frequencyWindowPruneMany` (Outbox+Campaigns).
/// - `campaignReportList` (Outbox+Reports): `dispatcher report`, from the report views.
///
/// Inbound SMS and opt-outs (`inbound_messages`, `opt_outs`)
/// - `inboundHandle` (Outbox+Compliance): an inbound SMS classified as STOP, START, HELP, a
///   reply for review or a plain reply, acted on and answered in one transaction;
///   `replyRecord` records our answer as a message of the system campaign.
/// - `optOutExists` (Outbox+Compliance): the opt-out rule for one message, just before its send.
/// - `complianceRevocations`, `complianceHelpReplies`, `complianceReviews` (Outbox+Compliance):
///   `dispatcher report --compliance`.
/// - `optOutInsert`, `messageSuppressPendingMany` (Outbox+OptOuts).
///
/// Quiet hours and frequency caps (migration 9; docs/compliance.md)
/// - `messageClaimMany` also defers rows outside their hours and over the frequency cap
///   (fragments in Outbox+ClaimCompliance; the cap's ledger is `frequency_windows`).
/// - `complianceSendingReportGet` (Outbox+ComplianceSending): `dispatcher report --compliance`'s
///   sending sections.
/// - `QuietHoursTables.load`: migration 9's area-code, rule and holiday tables.
///
/// Rate limits and provider availability (`rate_limits`, `RateLimits`)
/// - `rateLimitConfigure`, `rateLimitReserve`, `rateLimitSlowDown`.
/// - `rateLimitHalt`, `rateLimitResume`, `rateLimitHaltedList`.
/// - `rateLimitMarkUnavailable`, `rateLimitProbeClaimMany`, `rateLimitMarkAvailable`,
///   `rateLimitUnavailableList`.
///
/// Commands (Outbox+Commands, Admin.swift): what the CLI asks without SQL of its own
/// - `campaignsStateCounts`, `campaignsMessagesWithProviderIDCount`, `campaignsFirstID`
///   (`demo`, `bench-copy`).
/// - `Admin.databaseCreateIfMissing`, `Admin.schemaPresent` (the embedded cluster, `console`).
///
/// The operator console (Sources/Store/Console), reads on the report views and tables
/// - `ConsoleQueries`: `campaignsList`, `campaignGet`, `campaignSeries`, `campaignErrors`,
///   `campaignReplyCounts`, `campaignReplies`, `messagesSearch`, `messageGet`,
///   `messageEvents`, `messageInbox`, `messageReplies`, `rateLimitsList`, `inDoubtList`,
///   `optOutsList`.
/// - `ConsoleActions`: `campaignPause`, `campaignResume`, `campaignCancel` (over
///   `campaignSetPaused` and `campaignCancel`), `rateLimitResume` (over `rateLimitResume` and
///   `rateLimitMarkAvailable`), each with `operator` events naming the user.
public enum Outbox {
    /// The NOTIFY channel that wakes idle workers when work is enqueued or comes due.
    public static let workChannel = "dispatcher_work"

    /// States in which a message is finished for good.
    public static let finalStates = MessageState.finals
}
