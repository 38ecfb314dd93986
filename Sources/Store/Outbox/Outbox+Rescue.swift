public import Foundation

/// A message in doubt that a rescuer holds while it looks the message up at the provider.
public struct InDoubtMessage: Sendable, Equatable {
    public var id: Int64
    public var leaseToken: Int64
    public var provider: String
    public var from: String
    public var to: String
    public var body: String?
    public var attempts: Int
    public var firstAttemptAt: Date?
    public var expiresAt: Date?
    /// When it went in doubt (lookups go on until the horizon after this).
    public var inDoubtSince: Date?
}

extension Outbox {
    /// Moves messages whose lease expired (`sending`, `lease_expires_at < now`) to `in_doubt`:
    /// their worker died or stalled mid-request, so they may or may not have been sent. They are
    /// looked up no earlier than `lookupDelaySeconds` later (a request still in flight has
    /// finished by then). Returns how many moved.
    @discardableResult
    public static func messageRescueMany(
        _ connection: Connection, limit: Int, lookupDelaySeconds: Double, now: Date? = nil
    ) async throws -> Int {
        let events = eventsInsert(EventRow(
            messageID: "id", kind: "\(EventKind.state)", source: "\(EventSource.dispatcher)",
            fromState: "\(MessageState.sending)", toState: "\(MessageState.inDoubt)", errorClass: "'timeout'",
            detail: "'lease expired'"), "FROM moved")
        let rows = try await connection.query("""
            WITH clock AS (
                SELECT coalesce(\(now)::timestamptz, now()) AS now
            ),
            -- 1. Leases that ran out, oldest first.
            stale AS (
                SELECT m.id
                  FROM messages m, clock
                 WHERE m.state = \(MessageState.sending)
                   AND m.lease_expires_at < clock.now
                 ORDER BY m.lease_expires_at
                 LIMIT \(limit)
                   FOR UPDATE OF m SKIP LOCKED
            ),
            -- 2. In doubt until the provider lookup settles them.
            moved AS (
                UPDATE messages m
                   SET state = \(MessageState.inDoubt),
                       lease_owner = NULL,
                       lease_expires_at = NULL,
                       next_attempt_at = clock.now + make_interval(secs => \(lookupDelaySeconds)),
                       in_doubt_since = clock.now,
                       error_class = 'timeout'
                  FROM stale s, clock
                 WHERE m.id = s.id
             RETURNING m.id, m.lease_owner
            ),
            events AS (
                \(events)
            )
            SELECT count(*) FROM moved
            """)
        return try rows.scalar(Int.self) ?? 0
    }

    /// Holds up to `limit` in-doubt messages whose lookup is due, for `owner`, with a new
    /// fencing token. The hold is `next_attempt_at = now + leaseSeconds`: should the rescuer
    /// die, another one looks them up after that.
    public static func messageInDoubtClaimMany(
        _ connection: Connection, owner: String, limit: Int, leaseSeconds: Double, providers: [String], now: Date? = nil
    ) async throws -> [InDoubtMessage] {
        guard limit > 0, !providers.isEmpty else { return [] }
        let rows = try await connection.query("""
            WITH clock AS (
                SELECT coalesce(\(now)::timestamptz, now()) AS now
            ),
            -- 1. In-doubt messages due for a lookup, skipping those another rescuer holds.
            due AS (
                SELECT m.id
                  FROM messages m, clock
                 WHERE m.state = \(MessageState.inDoubt)
                   AND m.next_attempt_at <= clock.now
                   AND m.provider = ANY(\(providers))
                 ORDER BY m.next_attempt_at
                 LIMIT \(limit)
                   FOR UPDATE OF m SKIP LOCKED
            ),
            -- 2. Hold them under a new token while we ask the provider.
            held AS (
                UPDATE messages m
                   SET lease_owner = \(owner),
                       lease_token = nextval('message_lease_tokens'),
                       next_attempt_at = clock.now + make_interval(secs => \(leaseSeconds))
                  FROM due, clock
                 WHERE m.id = due.id
             RETURNING m.id, m.lease_token, m.provider, m.from_number, m.to_number, m.attempts, m.first_attempt_at,
                       m.expires_at, m.in_doubt_since
            )
            SELECT held.*, b.body
              FROM held
              LEFT JOIN message_bodies b ON b.message_id = held.id
             ORDER BY held.id
            """)
        return try rows.map { row in
            InDoubtMessage(
                id: try row["id"], leaseToken: try row["lease_token"], provider: try row["provider"],
                from: try row["from_number"], to: try row["to_number"], body: try row["body"], attempts: try row["attempts"],
                firstAttemptAt: try row["first_attempt_at"], expiresAt: try row["expires_at"],
                inDoubtSince: try row["in_doubt_since"])
        }
    }

    /// Releases a held in-doubt message that is still in doubt: its next lookup at `at`. No
    /// event (a lookup that found nothing changes nothing). False when the hold was lost.
    @discardableResult
    public static func messageInDoubtDeferIfHeld(_ connection: Connection, id: Int64, leaseToken: Int64, at: Date) async throws -> Bool {
        try await connection.execute("""
            UPDATE messages
               SET next_attempt_at = \(at), lease_owner = NULL
             WHERE id = \(id)
               AND state = \(MessageState.inDoubt)
               AND lease_token = \(leaseToken)
            """) > 0
    }

    /// Of `ids`, the provider message ids some message of `provider` other than `messageID`
    /// already carries (a lookup never adopts another message's send).
    public static func messageProviderIDListTaken(_ connection: Connection, provider: String, ids: [String],
                                                excluding messageID: Int64 = 0) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try await connection.query("""
            SELECT provider_message_id
              FROM messages
             WHERE provider = \(provider)
               AND provider_message_id = ANY(\(ids))
               AND id <> \(messageID)
            """)
        return Set(try rows.map { try $0.decode(String.self, at: 0) })
    }
}
