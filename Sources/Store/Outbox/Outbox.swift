/// The outbox's statements, one function per statement, named noun-then-verb
/// (`messagesClaim`, `messagesComplete`, `rateLimitsTake`, …). Each takes the connection it
/// runs on, so callers choose pooling and transactions.
///
/// State owners (SPEC §5): the producer moves `pending` → `sending` (or straight to `expired` /
/// `suppressed`); the completer moves `sending` → `accepted` / `pending` (retry) / `failed` /
/// `in_doubt`; the rescuer moves expired leases `sending` → `in_doubt` and settles `in_doubt`
/// as `accepted` or `pending`. Every change is conditional on the current state (and, for
/// held messages, the fencing token), so states only move forward and a stale worker changes
/// nothing.
public enum Outbox {
    /// The NOTIFY channel that wakes producers when work may have become due.
    public static let workChannel = "dispatcher_work"
}
