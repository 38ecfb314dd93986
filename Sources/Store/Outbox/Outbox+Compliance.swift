import Foundation

/// Inbound replies as compliance records: each reply's intent, opt-outs with their one
/// confirmation, help replies, and the replies waiting for review (migration 8).
extension Outbox {
    /// The system campaign whose messages are the confirmations and help replies sent back
    /// in answer to inbound SMS. Created on first use; its messages are recorded `sent`
    /// (never `pending`), so no worker ever claims one.
    public static let systemRepliesCampaign = "system:replies"

    /// What an inbound reply asks for, as stored in `inbound_messages.intent`.
    public enum InboundIntent: String, Sendable, Codable {
        case optOut = "optout", optIn = "optin", help, review, reply
    }

    /// What the route decided about one inbound SMS, and the texts it may send back.
    public struct InboundDecision: Sendable, Equatable {
        public var intent: InboundIntent
        /// Stored in `inbound_messages.keyword`: `stop`, `start`, `help`, or the reply's first word.
        public var keyword: String
        /// For `review`: why a person should read it.
        public var reviewReason: String?
        /// The text to send back when the reply acts (a stop or start confirmation, the help
        /// reply). A stop confirmation goes out only for an opt-out this reply created; a
        /// start confirmation only when this reply removed an opt-out an inbound STOP made.
        public var replyText: String?
        /// Segments of `replyText` (the reply's message row).
        public var replySegments: Int

        public init(intent: InboundIntent, keyword: String, reviewReason: String? = nil, replyText: String? = nil, replySegments: Int = 1) {
            self.intent = intent
            self.keyword = keyword
            self.reviewReason = reviewReason
            self.replyText = replyText
            self.replySegments = max(1, replySegments)
        }
    }

    public struct InboundOutcome: Sendable, Equatable {
        /// False for a replay (the same provider message id, or the same numbers and body
        /// within the replay window): nothing recorded, nothing acted on, nothing sent back.
        public var recorded: Bool
        public var inboundID: Int64?
        /// Pending messages to the number that became `suppressed`.
        public var suppressed: Int
        /// The text to send back now (the reply document's one `<sms_message>`), or nil.
        public var reply: String?
        /// The reply's message in the system campaign.
        public var replyMessageID: Int64?
    }

    /// Records an inbound SMS and acts on it in one transaction.
    ///
    /// - `optOut`: the number goes on `opt_outs` in the scope (`sender`, or '' when `global`),
    ///   its pending messages in that scope become `suppressed`, and, when this reply created
    ///   the opt-out, the confirmation is recorded as a `sent` message of `system:replies`.
    ///   A STOP while the number is already opted out in that scope (by an earlier STOP, an
    ///   operator, the provider, or a global opt-out) is recorded but confirmed no second time.
    /// - `optIn`: removes the opt-out an inbound STOP made in the same scope (never one an
    ///   operator or the provider made) and confirms only when it removed one.
    /// - `help`: the help reply, every time.
    /// - `review`: recorded with `needs_review` and the reason; nothing else.
    /// - `reply`: recorded.
    ///
    /// A replay records nothing, acts on nothing and returns no reply text.
    public static func inboundHandle(
        _ c: Connection, provider: String, providerMessageID: String?, from: String, to: String, body: String,
        decision: InboundDecision, optOutScope: OptOutScope, replayWindow: Double
    ) async throws -> InboundOutcome {
        try await c.withTransaction { tx in
            let none = InboundOutcome(recorded: false, inboundID: nil, suppressed: 0, reply: nil, replyMessageID: nil)
            if providerMessageID == nil {
                // two copies arriving at once: the second waits here, then finds the first
                try await tx.execute("SELECT pg_advisory_xact_lock(\(inboundLockClass), hashtext(\(provider + " " + from + " " + to)))")
                let replay = try await tx.query("""
                    SELECT EXISTS (
                        SELECT 1 FROM inbound_messages
                         WHERE from_number = \(from) AND received_at > now() - make_interval(secs => \(replayWindow))
                           AND to_number = \(to) AND provider = \(provider) AND provider_message_id IS NULL AND body = \(body))
                    """).scalar(Bool.self) ?? false
                if replay { return none }
            }
            let scope: String? = decision.intent == .optOut || decision.intent == .optIn ? optOutScope.listedSender(to) : nil
            let inserted = try await tx.query("""
                -- the last message we sent to that number (not a reply of ours), from that number if we can tell
                WITH related AS (
                    SELECT m.id FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                     WHERE m.to_number = \(from) AND m.state NOT IN (\([MessageState.pending, .suppressed, .cancelled, .expired]))
                       AND c.name <> \(systemRepliesCampaign)
                     ORDER BY (m.from_number = \(to)) DESC, m.id DESC
                     LIMIT 1
                )
                INSERT INTO inbound_messages (provider, provider_message_id, from_number, to_number, body, keyword,
                                              related_message_id, intent, needs_review, review_reason, opt_out_scope)
                VALUES (\(provider), \(providerMessageID), \(from), \(to), \(body), \(decision.keyword),
                        (SELECT id FROM related), \(decision.intent.rawValue), \(decision.intent == .review),
                        \(decision.reviewReason), \(scope))
                ON CONFLICT (provider, provider_message_id) DO NOTHING
                RETURNING id
                """).scalar(Int64.self)
            guard let inboundID = inserted else { return none }
            var suppressed = 0
            var send = false
            switch decision.intent {
            case .optOut:
                let sender = optOutScope.listedSender(to)
                // already opted out in this scope (or of every sender): the same opt-out, no second confirmation
                let created = try await tx.query("""
                    INSERT INTO opt_outs (phone, sender, source, inbound_message_id)
                    SELECT p.phone, \(sender), 'inbound', \(inboundID)
                      FROM (SELECT \(from)::text AS phone, \(to)::text AS sender) AS p
                     WHERE NOT \(optedOut(phone: "p.phone", sender: "p.sender", scope: optOutScope))
                    ON CONFLICT (phone, sender) DO NOTHING
                    RETURNING 1
                    """).count == 1
                suppressed = try await messageSuppressPendingMany(tx, phone: from, optOutScope: optOutScope,
                                                                  reason: "recipient replied \(decision.keyword.uppercased())")
                try await tx.execute("UPDATE inbound_messages SET suppressed = \(suppressed) WHERE id = \(inboundID)")
                send = created
            case .optIn:
                let removed = try await tx.execute("""
                    DELETE FROM opt_outs WHERE phone = \(from) AND sender = \(optOutScope.listedSender(to)) AND source = 'inbound'
                    """)
                send = removed > 0
            case .help:
                send = true
            case .review, .reply:
                break
            }
            if decision.intent == .optOut || decision.intent == .optIn {
                try await tx.execute("UPDATE inbound_messages SET consent_changed = \(send) WHERE id = \(inboundID)")
            }
            guard send, let text = decision.replyText, !text.isEmpty else {
                return InboundOutcome(recorded: true, inboundID: inboundID, suppressed: suppressed, reply: nil, replyMessageID: nil)
            }
            let replyID = try await replyRecord(tx, inboundID: inboundID, provider: provider, from: to, to: from, body: text,
                                                segments: decision.replySegments, kind: decision.intent)
            return InboundOutcome(recorded: true, inboundID: inboundID, suppressed: suppressed, reply: text, replyMessageID: replyID)
        }
    }

    /// Records a reply sent back in answer to inbound message `inboundID` as a `sent` message
    /// of the system campaign (created on first use), with its body and one event, and links
    /// it from the inbound message.
    static func replyRecord(_ tx: Connection, inboundID: Int64, provider: String, from: String, to: String, body: String,
                            segments: Int, kind: InboundIntent) async throws -> Int64 {
        try await tx.execute("""
            INSERT INTO campaigns (name, provider, from_number) VALUES (\(systemRepliesCampaign), 'system', '')
            ON CONFLICT (name) DO NOTHING
            """)
        let detail = "\(kind == .help ? "help reply" : kind == .optOut ? "stop confirmation" : "start confirmation") "
            + "sent as the reply to inbound message \(inboundID)"
        let id = try await tx.query("""
            WITH reply AS (
                -- 'sent' at once: the provider sends it as the answer to its inbound request
                INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, attempts,
                                      due_at, next_attempt_at, first_attempt_at, accepted_at, sent_at)
                SELECT id, \("inbound-\(inboundID)"), \(MessageState.sent), \(provider), \(from), \(to), \(segments), 1,
                       now(), now(), now(), now(), now()
                  FROM campaigns WHERE name = \(systemRepliesCampaign)
                RETURNING id
            ),
            stored AS (
                INSERT INTO message_bodies (message_id, body) SELECT id, \(body) FROM reply
            ),
            event AS (
                \(eventsInsert(EventRow(messageID: "id", kind: "\(EventKind.reply)", source: "\(EventSource.dispatcher)",
                                       toState: "\(MessageState.sent)", detail: "\(detail)"), "FROM reply"))
            )
            UPDATE inbound_messages SET reply_message_id = (SELECT id FROM reply) WHERE id = \(inboundID)
            RETURNING reply_message_id
            """).scalar(Int64.self)
        guard let id else { throw PostgresError(.usage, "the reply to inbound message \(inboundID) was not recorded") }
        return id
    }
}

// MARK: The compliance report

extension Outbox {
    /// The compliance report's inbound sections (revocations, help replies, replies waiting
    /// for review) for `filter`. Nil when `filter.campaign` names no campaign.
    public static func complianceReport(_ c: Connection, filter: ComplianceReport.Filter) async throws -> ComplianceReport? {
        if let name = filter.campaign,
           try await c.query("SELECT 1 FROM campaigns WHERE name = \(name)").isEmpty { return nil }
        var report = ComplianceReport(
            generatedAt: try await c.query("SELECT now()").scalar(Date.self) ?? Date(), campaign: filter.campaign, since: filter.since)
        report.revocations = try await complianceRevocations(c, filter: filter)
        report.helpReplies = try await complianceHelpReplies(c, filter: filter)
        report.reviews = try await complianceReviews(c, filter: filter)
        return report
    }

    /// The inbound replies of `filter`: a recipient of the campaign (received since it was
    /// created), received since `since`.
    static func complianceInboundFilter(_ filter: ComplianceReport.Filter) -> SQL {
        """
        (\(filter.since)::timestamptz IS NULL OR i.received_at >= \(filter.since)::timestamptz)
        AND (\(filter.campaign)::text IS NULL OR EXISTS (
            SELECT 1 FROM campaigns fc JOIN messages fm ON fm.campaign_id = fc.id
             WHERE fc.name = \(filter.campaign)::text AND fm.to_number = i.from_number AND i.received_at >= fc.created_at))
        """
    }

    /// Opt-out replies, oldest first, with their confirmation, what they suppressed, and the
    /// sends to the number in their scope after them.
    ///
    /// An opt-out is in force from the reply until a later START removed it (`ends`).
    /// Suppressed: for the reply that created the opt-out, the messages to the number in its
    /// scope that became `suppressed` while it was in force (at once, or later by a claim or
    /// the send-time check); for a repeated STOP, those it suppressed itself (normally 0).
    /// Sends after: messages to the number in that scope first attempted or attempted again
    /// (a request started) while it was in force; the system campaign's replies are not
    /// counted. A request already under way when the STOP came is not a send after it, even
    /// if its acceptance was recorded later.
    public static func complianceRevocations(_ c: Connection, filter: ComplianceReport.Filter) async throws -> [ComplianceReport.Revocation] {
        try await c.query("""
            SELECT i.id, i.received_at, i.from_number, i.to_number, i.body, coalesce(i.opt_out_scope, '') AS scope,
                   coalesce(i.consent_changed, false) AS new_opt_out, r.sent_at AS confirmed_at,
                   CASE WHEN i.consent_changed THEN (
                       SELECT count(*) FROM messages m
                        WHERE m.to_number = i.from_number AND (i.opt_out_scope = '' OR m.from_number = i.opt_out_scope)
                          AND m.state = \(MessageState.suppressed) AND m.final_at >= i.received_at AND m.final_at < ends.at)
                   ELSE coalesce(i.suppressed, 0) END AS suppressed,
                   (SELECT count(*) FROM messages m JOIN campaigns mc ON mc.id = m.campaign_id
                     WHERE m.to_number = i.from_number
                       AND (coalesce(i.opt_out_scope, '') = '' OR m.from_number = i.opt_out_scope)
                       AND mc.name <> \(systemRepliesCampaign)
                       AND ((m.first_attempt_at > i.received_at AND m.first_attempt_at < ends.at)
                            OR EXISTS (SELECT 1 FROM message_events e
                                        WHERE e.message_id = m.id AND e.kind = 'attempt'
                                          AND e.at > i.received_at AND e.at < ends.at))
                   ) AS sends_after
              FROM inbound_messages i
              LEFT JOIN messages r ON r.id = i.reply_message_id
             CROSS JOIN LATERAL (
                   -- the opt-out in force until a later START removed it
                   SELECT coalesce(min(o.received_at), 'infinity') AS at FROM inbound_messages o
                    WHERE o.from_number = i.from_number AND o.intent = 'optin' AND o.consent_changed
                      AND o.opt_out_scope = i.opt_out_scope AND o.received_at > i.received_at) AS ends
             WHERE i.intent = 'optout' AND \(complianceInboundFilter(filter))
             ORDER BY i.received_at, i.id
            """).map { row in
                let scope: String = try row.decode(column: "scope")
                return ComplianceReport.Revocation(
                    inboundID: try row.decode(column: "id"), receivedAt: try row.decode(column: "received_at"),
                    phone: try row.decode(column: "from_number"), sender: try row.decode(column: "to_number"),
                    words: try row.decode(column: "body"), scope: scope.isEmpty ? "all senders" : scope,
                    newOptOut: try row.decode(column: "new_opt_out"), confirmationSentAt: try row.decode(column: "confirmed_at"),
                    suppressed: try row.decode(column: "suppressed"), sendsAfter: try row.decode(column: "sends_after"))
            }
    }

    /// HELP and INFO replies, oldest first, with the automatic answer.
    public static func complianceHelpReplies(_ c: Connection, filter: ComplianceReport.Filter) async throws -> [ComplianceReport.HelpReply] {
        try await c.query("""
            SELECT i.id, i.received_at, i.from_number, i.to_number, i.body, r.sent_at AS replied_at, b.body AS reply
              FROM inbound_messages i
              LEFT JOIN messages r ON r.id = i.reply_message_id
              LEFT JOIN message_bodies b ON b.message_id = r.id
             WHERE i.intent = 'help' AND \(complianceInboundFilter(filter))
             ORDER BY i.received_at, i.id
            """).map { row in
                ComplianceReport.HelpReply(
                    inboundID: try row.decode(column: "id"), receivedAt: try row.decode(column: "received_at"),
                    phone: try row.decode(column: "from_number"), sender: try row.decode(column: "to_number"),
                    words: try row.decode(column: "body"), repliedAt: try row.decode(column: "replied_at"),
                    reply: try row.decode(column: "reply"))
            }
    }

    /// Replies waiting for a person: might be a revocation, not acted on.
    public static func complianceReviews(_ c: Connection, filter: ComplianceReport.Filter) async throws -> [ComplianceReport.Review] {
        try await c.query("""
            SELECT i.id, i.received_at, i.from_number, i.to_number, i.body, coalesce(i.review_reason, '') AS reason
              FROM inbound_messages i
             WHERE i.needs_review AND \(complianceInboundFilter(filter))
             ORDER BY i.received_at, i.id
            """).map { row in
                ComplianceReport.Review(
                    inboundID: try row.decode(column: "id"), receivedAt: try row.decode(column: "received_at"),
                    phone: try row.decode(column: "from_number"), sender: try row.decode(column: "to_number"),
                    words: try row.decode(column: "body"), reason: try row.decode(column: "reason"))
            }
    }
}

// MARK: Sending

extension Outbox {
    /// True when `phone` has opted out of `sender` in `optOutScope` (`optedOut`, the claim's
    /// rule), asked again just before a send, for an opt-out that arrived while the message
    /// waited for its rate slot.
    public static func optOutExists(_ c: Connection, phone: String, sender: String, optOutScope: OptOutScope) async throws -> Bool {
        try await c.query("""
            SELECT \(optedOut(phone: "p.phone", sender: "p.sender", scope: optOutScope))
              FROM (SELECT \(phone)::text AS phone, \(sender)::text AS sender) AS p
            """, prepared: true).scalar(Bool.self) ?? false
    }
}
