/// The operator's retry of failed messages (`dispatcher retry`).
extension Outbox {
    /// Error classes whose failure leaves open whether the provider took the message.
    public static let inDoubtErrorClasses = ["timeout", "http_5xx"]
    /// Error classes of messages the provider took although they are recorded `failed`: the
    /// provider answered with an id another message already has (`provider_id_conflict`). A
    /// retry would send them again, and a lookup could not adopt that id: never requeued.
    public static let takenErrorClasses = ["provider_id_conflict"]

    public struct RequeueResult: Sendable, Equatable {
        /// Failed messages back to `pending` (nothing suggests the provider took them).
        public var requeued: Int
        /// Failed messages the provider may have taken: `in_doubt`, settled by a lookup first.
        public var inDoubt: Int
    }

    /// Requeues a campaign's `failed` messages whose `error_class` is one of `classes` (every
    /// class when nil), with one `operator` event each and their attempts reset. A message that
    /// may have been accepted — an in-doubt class (`inDoubtErrorClasses`), a provider id, an
    /// acceptance time — is never requeued: it goes `in_doubt` and the rescuer looks it up (and
    /// waits the in-doubt horizon) before any resend. Others go back to `pending`, due now.
    /// Messages the provider took (`takenErrorClasses`) stay `failed`. The campaign must not
    /// be cancelled.
    public static func messageRequeueFailedMany(_ c: Connection, campaign name: String, classes: [String]?) async throws -> RequeueResult {
        try await c.withTransaction { tx in
            guard let row = try await tx.query("SELECT id, status FROM campaigns WHERE name = \(name) FOR UPDATE").first else {
                throw CampaignControlError.unknownCampaign(name)
            }
            let (id, status): (Int64, CampaignState) = (try row["id"], try row["status"])
            if status == .cancelled { throw CampaignControlError.cancelled(name) }
            let events = eventsInsert(EventRow(
                messageID: "id", kind: "\(EventKind.state)", source: "\(EventSource.operator)",
                fromState: "\(MessageState.failed)", toState: "state", errorClass: "error_class",
                detail: """
                    CASE state WHEN \(MessageState.inDoubt) THEN 'retry requested; the provider may have taken it: looked up first'
                               ELSE 'retry requested' END
                    """), "FROM moved")
            let rows = try await tx.query("""
                WITH chosen AS (
                    SELECT m.id,
                           (m.error_class = ANY(\(inDoubtErrorClasses)) OR m.provider_message_id IS NOT NULL
                            OR m.accepted_at IS NOT NULL) AS maybe_taken
                      FROM messages m
                     WHERE m.campaign_id = \(id)
                       AND m.state = \(MessageState.failed)
                       AND (\(classes)::text[] IS NULL OR m.error_class = ANY(\(classes)::text[]))
                       AND NOT coalesce(m.error_class = ANY(\(takenErrorClasses)), false)
                       FOR UPDATE
                ),
                moved AS (
                    UPDATE messages m
                       SET state = CASE WHEN c.maybe_taken THEN \(MessageState.inDoubt) ELSE \(MessageState.pending) END,
                           in_doubt_since = CASE WHEN c.maybe_taken THEN now() END,
                           next_attempt_at = now(),
                           final_at = NULL,
                           attempts = 0
                      FROM chosen c
                     WHERE m.id = c.id
                    RETURNING m.id, m.state, m.error_class
                ),
                events AS (
                    \(events)
                )
                SELECT count(*) FILTER (WHERE state = \(MessageState.pending)) AS requeued,
                       count(*) FILTER (WHERE state = \(MessageState.inDoubt)) AS in_doubt
                  FROM moved
                """)
            try await tx.notify(workChannel)
            return RequeueResult(requeued: try rows[0]["requeued"], inDoubt: try rows[0]["in_doubt"])
        }
    }
}
