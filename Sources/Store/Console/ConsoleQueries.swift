import Support
import Foundation

/// The operator console's reads: one function per statement, every value a bound parameter.
///
/// Figures come from the reporting views where they exist (`campaign_report`,
/// `message_report`), so the console and `dispatcher report` never disagree.
public enum ConsoleQueries {
    /// Campaigns, newest first: `campaign_report`'s counts and delivery rate (computed by the
    /// same expressions in one pass over the messages, without the latency percentiles: they
    /// are nil here) with the live rate, errors, replies and opt-outs. `name`: a substring of
    /// the name (case-insensitive); `status`: the campaign's status; `state`: only campaigns
    /// with a message in that state.
    public static func campaignsList(_ c: Connection, name: String?, status: String?, state: String?,
                                     limit: Int) async throws -> [ConsoleRows.Campaign] {
        let pattern = name.flatMap { $0.isEmpty ? nil : "%" + likeEscaped($0) + "%" }
        let rows = try await c.query("""
            -- 1. One pass over the messages: campaign_report's counts (the same FILTERs), without
            --    its latency percentiles, which this list does not show and which sort every
            --    accepted message of every campaign; the recent acceptances and errors alongside.
            WITH counts AS (
                SELECT m.campaign_id,
                       count(*) AS total,
                       \(Outbox.stateCountColumns("m.state")),
                       count(*) FILTER (WHERE m.accepted_at > now() - interval '5 minutes') AS accepted_recently,
                       count(*) FILTER (WHERE m.error_class IS NOT NULL) AS errors
                  FROM messages m
                 GROUP BY m.campaign_id
            ),
            -- 2. Every campaign, with or without messages, as campaign_report has them.
            r AS (
                SELECT c.name AS campaign, c.id AS campaign_id, c.status AS campaign_status, c.created_at,
                       coalesce(n.total, 0) AS total,
                       \(Outbox.stateColumnsOrZero("n")),
                       NULL::float8 AS send_latency_p50_s, NULL::float8 AS send_latency_p95_s,
                       NULL::float8 AS delivery_latency_p50_s, NULL::float8 AS delivery_latency_p95_s,
                       coalesce(n.accepted_recently, 0)::float8 / 5 AS per_minute,
                       coalesce(n.errors, 0) AS errors
                  FROM campaigns c
                  LEFT JOIN counts n ON n.campaign_id = c.id
            )
            -- 3. The filters, the newest first; replies and opt-outs for the rows shown only.
            SELECT r.*, \(repliesAndOptOuts(campaignID: "r.campaign_id", createdAt: "r.created_at"))
              FROM r
             WHERE (\(pattern)::text IS NULL OR r.campaign ILIKE \(pattern) ESCAPE '\\')
               AND (\(status)::text IS NULL OR r.campaign_status = \(status))
               AND (\(state)::text IS NULL OR \(Outbox.stateCountOf("\(state)", in: "r")) > 0)
             ORDER BY r.campaign_id DESC
             LIMIT \(limit)
            """)
        return try rows.map(campaign)
    }

    /// The `replies` and `opt_outs` columns of a campaign's row (`campaignID`, `createdAt`: its
    /// columns in the query), counted as `dispatcher report` counts them.
    static func repliesAndOptOuts(campaignID: SQL, createdAt: SQL) -> SQL {
        """
        (SELECT count(*) FROM inbound_messages i JOIN messages m ON m.id = i.related_message_id
          WHERE m.campaign_id = \(campaignID)) AS replies,
        (SELECT count(DISTINCT o.phone) FROM opt_outs o
          WHERE o.phone IN (SELECT to_number FROM messages WHERE campaign_id = \(campaignID))
            AND o.created_at >= \(createdAt)) AS opt_outs
        """
    }

    /// One campaign by name, or nil.
    public static func campaignGet(_ c: Connection, name: String) async throws -> ConsoleRows.Campaign? {
        let rows = try await c.query("""
            -- the live rate and the errors in one more pass over the campaign's messages
            WITH live AS (
                SELECT count(*) FILTER (WHERE m.accepted_at > now() - interval '5 minutes')::float8 / 5 AS per_minute,
                       count(*) FILTER (WHERE m.error_class IS NOT NULL)                         AS errors
                  FROM messages m
                 WHERE m.campaign_id = (SELECT id FROM campaigns WHERE name = \(name))
            )
            SELECT r.*, c.created_at, live.per_minute, live.errors,
                   \(repliesAndOptOuts(campaignID: "r.campaign_id", createdAt: "c.created_at"))
              FROM campaign_report r
              JOIN campaigns c ON c.id = r.campaign_id
              CROSS JOIN live
             WHERE r.campaign = \(name)
            """)
        return try rows.first.map(campaign)
    }

    private static func campaign(_ row: Row) throws -> ConsoleRows.Campaign {
        var states: [String: Int] = [:]
        for state in ConsoleRows.states { states[state] = try row[state] }
        return ConsoleRows.Campaign(
            name: try row["campaign"], id: try row["campaign_id"], status: try row["campaign_status"],
            total: try row["total"], states: states, deliveryRate: try row["delivery_rate"],
            sendLatencyP50: try row["send_latency_p50_s"], sendLatencyP95: try row["send_latency_p95_s"],
            deliveryLatencyP50: try row["delivery_latency_p50_s"], deliveryLatencyP95: try row["delivery_latency_p95_s"],
            perMinute: try row["per_minute"], errors: try row["errors"], replies: try row["replies"],
            optOuts: try row["opt_outs"], createdAt: try row["created_at"])
    }

    /// Sends, acceptances and deliveries per minute over the `minutes` minutes that end with
    /// the campaign's last activity (or now, if that is later than now), every minute present.
    public static func campaignSeries(_ c: Connection, campaignID: Int64, minutes: Int) async throws -> [ConsoleRows.Minute] {
        let rows = try await c.query("""
            -- 0. The campaign's messages, read once (through its index) for the steps below.
            WITH mine AS MATERIALIZED (
                SELECT m.id, m.state, m.first_attempt_at, m.accepted_at, m.final_at
                  FROM messages m WHERE m.campaign_id = \(campaignID)
            ),
            -- 1. The window: the last minute with activity (not after now), and the minutes before it.
            last AS (
                SELECT date_trunc('minute', least(now(), coalesce(
                           greatest(max(m.first_attempt_at), max(m.accepted_at), max(m.final_at)), now()))) AS t
                  FROM mine m
            ),
            grid AS (
                SELECT generate_series(last.t - make_interval(mins => (\(minutes) - 1)::int), last.t, interval '1 minute') AS minute
                  FROM last
            ),
            -- 2. Each series, per minute, inside the window.
            sends AS (
                SELECT date_trunc('minute', e.at) AS minute, count(*) AS n
                  FROM mine m JOIN message_events e ON e.message_id = m.id
                 WHERE e.kind = 'attempt'
                   AND e.at >= (SELECT min(minute) FROM grid)
                 GROUP BY 1
            ),
            acceptances AS (
                SELECT date_trunc('minute', m.accepted_at) AS minute, count(*) AS n
                  FROM mine m
                 WHERE m.accepted_at >= (SELECT min(minute) FROM grid)
                 GROUP BY 1
            ),
            deliveries AS (
                SELECT date_trunc('minute', m.final_at) AS minute, count(*) AS n
                  FROM mine m
                 WHERE m.state = \(MessageState.delivered)
                   AND m.final_at >= (SELECT min(minute) FROM grid)
                 GROUP BY 1
            )
            SELECT g.minute, coalesce(s.n, 0) AS sends, coalesce(a.n, 0) AS acceptances, coalesce(d.n, 0) AS deliveries
              FROM grid g
              LEFT JOIN sends s ON s.minute = g.minute
              LEFT JOIN acceptances a ON a.minute = g.minute
              LEFT JOIN deliveries d ON d.minute = g.minute
             ORDER BY g.minute
            """)
        return try rows.map {
            ConsoleRows.Minute(minute: try $0["minute"], sends: try $0["sends"], acceptances: try $0["acceptances"],
                               deliveries: try $0["deliveries"])
        }
    }

    /// A campaign's messages with an error, by class and provider code, most frequent first.
    public static func campaignErrors(_ c: Connection, campaignID: Int64) async throws -> [ConsoleRows.ErrorGroup] {
        try await c.query("""
            SELECT error_class, error_code, count(*) AS n
              FROM messages
             WHERE campaign_id = \(campaignID) AND error_class IS NOT NULL
             GROUP BY 1, 2
             ORDER BY 3 DESC, 1, 2
            """).map {
            ConsoleRows.ErrorGroup(errorClass: try $0["error_class"], errorCode: try $0["error_code"], count: try $0["n"])
        }
    }

    /// Replies to a campaign's messages by keyword.
    public static func campaignReplyCounts(_ c: Connection, campaignID: Int64) async throws -> [ConsoleRows.ReplyCount] {
        try await c.query("""
            SELECT coalesce(i.keyword, 'other') AS keyword, count(*) AS n
              FROM inbound_messages i JOIN messages m ON m.id = i.related_message_id
             WHERE m.campaign_id = \(campaignID)
             GROUP BY 1
             ORDER BY 2 DESC, 1
            """).map { ConsoleRows.ReplyCount(keyword: try $0["keyword"], count: try $0["n"]) }
    }

    /// The latest replies to a campaign's messages.
    public static func campaignReplies(_ c: Connection, campaignID: Int64, limit: Int) async throws -> [ConsoleRows.Inbound] {
        try await c.query("""
            SELECT i.id, i.provider, i.from_number, i.to_number, i.body, i.keyword, i.related_message_id, i.received_at
              FROM inbound_messages i JOIN messages m ON m.id = i.related_message_id
             WHERE m.campaign_id = \(campaignID)
             ORDER BY i.received_at DESC, i.id DESC
             LIMIT \(limit)
            """).map(inbound)
    }

    private static func inbound(_ row: Row) throws -> ConsoleRows.Inbound {
        ConsoleRows.Inbound(
            id: try row["id"], provider: try row["provider"], fromNumber: try row["from_number"],
            toNumber: try row["to_number"], body: try row["body"], keyword: try row["keyword"],
            relatedMessageID: try row["related_message_id"], receivedAt: try row["received_at"])
    }

    /// What a message search looks for. Every field given must match; `text` matches the
    /// external id or the provider id, `phone` the recipient, `id` the outbox id (any of
    /// the three may match when several are given).
    public struct MessageSearch: Sendable, Equatable {
        public var text: String?
        public var phone: String?
        public var id: Int64?
        public var campaign: String?
        public var errorClass: String?
        /// With `errorClass`: the provider code; `.some(nil)` for messages without one.
        public var errorCode: String??
        public var state: String?

        public init(text: String? = nil, phone: String? = nil, id: Int64? = nil, campaign: String? = nil,
                    errorClass: String? = nil, errorCode: String?? = nil, state: String? = nil) {
            self.text = text
            self.phone = phone
            self.id = id
            self.campaign = campaign
            self.errorClass = errorClass
            self.errorCode = errorCode
            self.state = state
        }

        var hasKey: Bool { text != nil || phone != nil || id != nil }
    }

    /// Messages matching `search`, newest first.
    public static func messagesSearch(_ c: Connection, _ search: MessageSearch, limit: Int) async throws -> [ConsoleRows.Message] {
        let codeGiven = search.errorCode != nil
        let code = search.errorCode ?? nil
        let filters: SQL = """
            (\(search.campaign)::text IS NULL OR r.campaign = \(search.campaign))
               AND (\(search.errorClass)::text IS NULL OR r.error_class = \(search.errorClass))
               AND (NOT \(codeGiven) OR r.error_code IS NOT DISTINCT FROM \(code))
               AND (\(search.state)::text IS NULL OR r.state = \(search.state))
            """
        guard search.hasKey else {
            let rows = try await c.query("""
                SELECT r.*
                  FROM message_report r
                 WHERE \(filters)
                 ORDER BY r.message_id DESC
                 LIMIT \(limit)
                """)
            return try rows.map(message)
        }
        let rows = try await c.query("""
            -- each key through an index of its own: one OR across the columns reads every message
            WITH RECURSIVE providers (name) AS (
                -- the providers with accepted messages, from (provider, provider_message_id):
                -- a loose index scan, one probe per provider
                SELECT min(provider) FROM messages WHERE provider_message_id IS NOT NULL
                UNION ALL
                SELECT (SELECT min(m.provider) FROM messages m WHERE m.provider_message_id IS NOT NULL AND m.provider > p.name)
                  FROM providers p WHERE p.name IS NOT NULL
            ),
            found (id) AS (
                SELECT id FROM messages WHERE id = \(search.id)
                UNION
                SELECT id FROM messages WHERE to_number = \(search.phone)
                UNION
                -- (campaign_id, external_id): one probe per campaign
                SELECT m.id FROM campaigns k JOIN messages m ON m.campaign_id = k.id AND m.external_id = \(search.text)
                UNION
                SELECT m.id FROM providers p
                  JOIN messages m ON m.provider = p.name AND m.provider_message_id = \(search.text)
                 WHERE p.name IS NOT NULL AND m.provider_message_id IS NOT NULL
            )
            SELECT r.*
              FROM message_report r
             WHERE r.message_id IN (SELECT id FROM found)
               AND \(filters)
             ORDER BY r.message_id DESC
             LIMIT \(limit)
            """)
        return try rows.map(message)
    }

    private static func message(_ row: Row) throws -> ConsoleRows.Message {
        ConsoleRows.Message(
            id: try row["message_id"], campaign: try row["campaign"], externalID: try row["external_id"],
            toNumber: try row["to_number"], fromNumber: try row["from_number"], provider: try row["provider"],
            providerMessageID: try row["provider_message_id"], state: try row["state"], attempts: try row["attempts"],
            errorCode: try row["error_code"], errorClass: try row["error_class"], createdAt: try row["created_at"],
            acceptedAt: try row["accepted_at"], finalAt: try row["final_at"], segments: try row["segments"])
    }

    /// One message with its body, or nil.
    public static func messageGet(_ c: Connection, id: Int64) async throws -> ConsoleRows.MessageDetail? {
        let rows = try await c.query("""
            SELECT r.*, b.body, m.due_at, m.next_attempt_at, m.expires_at, m.in_doubt_since, m.duplicate_callbacks
              FROM message_report r
              JOIN messages m ON m.id = r.message_id
              LEFT JOIN message_bodies b ON b.message_id = r.message_id
             WHERE r.message_id = \(id)
            """)
        return try rows.first.map {
            ConsoleRows.MessageDetail(
                message: try message($0), body: try $0["body"], dueAt: try $0["due_at"], nextAttemptAt: try $0["next_attempt_at"],
                expiresAt: try $0["expires_at"], inDoubtSince: try $0["in_doubt_since"],
                duplicateCallbacks: try $0["duplicate_callbacks"])
        }
    }

    /// Every event of a message, oldest first.
    public static func messageEvents(_ c: Connection, id: Int64) async throws -> [ConsoleRows.Event] {
        try await c.query("""
            SELECT at, kind, source, from_state, to_state, provider_status, http_status, error_code, error_class,
                   latency_ms, detail
              FROM message_events
             WHERE message_id = \(id)
             ORDER BY at, id
            """).map {
            ConsoleRows.Event(
                at: try $0["at"], kind: try $0["kind"], source: try $0["source"], fromState: try $0["from_state"],
                toState: try $0["to_state"], providerStatus: try $0["provider_status"], httpStatus: try $0["http_status"],
                errorCode: try $0["error_code"], errorClass: try $0["error_class"], latencyMs: try $0["latency_ms"],
                detail: try $0["detail"])
        }
    }

    /// Reports about a message still waiting in the inbox, oldest first.
    public static func messageInbox(_ c: Connection, id: Int64) async throws -> [ConsoleRows.InboxReport] {
        try await c.query("""
            SELECT received_at, source, provider_status, state, raw
              FROM callback_inbox
             WHERE message_id = \(id)
             ORDER BY id
            """).map {
            ConsoleRows.InboxReport(receivedAt: try $0["received_at"], source: try $0["source"],
                                    providerStatus: try $0["provider_status"], state: try $0["state"], raw: try $0["raw"])
        }
    }

    /// Inbound SMS linked to a message.
    public static func messageReplies(_ c: Connection, id: Int64) async throws -> [ConsoleRows.Inbound] {
        try await c.query("""
            SELECT id, provider, from_number, to_number, body, keyword, related_message_id, received_at
              FROM inbound_messages
             WHERE related_message_id = \(id)
             ORDER BY received_at, id
            """).map(inbound)
    }

    /// Every sender number and provider account of the shared rate limiter. The slow-down
    /// shown is the stored factor recovered since its refresh at `recoveryPerSecond` (the
    /// limiter's default), and the level is what is reserved ahead of now, at most the burst.
    public static func rateLimitsList(_ c: Connection, recoveryPerSecond: Double) async throws -> [ConsoleRows.RateLimit] {
        try await c.query("""
            WITH now_ AS (
                SELECT key, rate, burst, halted_at, halt_reason, unavailable_since, unavailable_until, tat,
                       least(1, slow_factor * power(\(recoveryPerSecond),
                                                    greatest(0, extract(epoch FROM now() - refreshed_at)::float8))) AS slow
                  FROM rate_limits
            )
            SELECT key, rate, burst, slow, halted_at, halt_reason, unavailable_since, unavailable_until,
                   least(burst, greatest(0, extract(epoch FROM tat - now())::float8) * rate * slow) AS level
              FROM now_
             ORDER BY key
            """).map {
            ConsoleRows.RateLimit(
                key: try $0["key"], rate: try $0["rate"], burst: try $0["burst"], slowFactor: try $0["slow"],
                level: try $0["level"], haltedAt: try $0["halted_at"], haltReason: try $0["halt_reason"],
                unavailableSince: try $0["unavailable_since"], nextProbe: try $0["unavailable_until"])
        }
    }

    /// Messages waiting for an in-doubt lookup, longest waiting first, and how many there are.
    public static func inDoubtList(_ c: Connection, limit: Int) async throws -> (rows: [ConsoleRows.InDoubt], total: Int) {
        let total = try await c.query("SELECT count(*) FROM messages WHERE state = \(MessageState.inDoubt)").scalar(Int.self) ?? 0
        let rows = try await c.query("""
            SELECT m.id, c.name AS campaign, m.to_number, m.provider, m.attempts, m.in_doubt_since, m.next_attempt_at
              FROM messages m JOIN campaigns c ON c.id = m.campaign_id
             WHERE m.state = \(MessageState.inDoubt)
             ORDER BY m.in_doubt_since NULLS FIRST, m.id
             LIMIT \(limit)
            """).map {
            ConsoleRows.InDoubt(id: try $0["id"], campaign: try $0["campaign"], toNumber: try $0["to_number"],
                                provider: try $0["provider"], attempts: try $0["attempts"],
                                inDoubtSince: try $0["in_doubt_since"], nextLookupAt: try $0["next_attempt_at"])
        }
        return (rows, total)
    }

    /// Opt-outs, newest first, each with the inbound STOP that made it: the latest STOP from
    /// that number (to that sender, for a sender's opt-out) received up to its creation.
    public static func optOutsList(_ c: Connection, limit: Int) async throws -> (rows: [ConsoleRows.OptOut], total: Int) {
        let total = try await c.query("SELECT count(*) FROM opt_outs").scalar(Int.self) ?? 0
        let rows = try await c.query("""
            SELECT o.phone, o.sender, o.source, o.created_at, i.id AS inbound_id, i.body AS inbound_body,
                   i.received_at AS inbound_at
              FROM opt_outs o
              LEFT JOIN LATERAL (
                   SELECT i.id, i.body, i.received_at
                     FROM inbound_messages i
                    WHERE o.source = 'inbound'
                      AND i.from_number = o.phone AND i.keyword = 'stop'
                      AND (o.sender = '' OR i.to_number = o.sender)
                      AND i.received_at <= o.created_at
                    ORDER BY i.received_at DESC, i.id DESC
                    LIMIT 1) i ON true
             ORDER BY o.created_at DESC, o.phone
             LIMIT \(limit)
            """).map {
            ConsoleRows.OptOut(phone: try $0["phone"], sender: try $0["sender"], source: try $0["source"],
                               createdAt: try $0["created_at"], inboundID: try $0["inbound_id"],
                               inboundBody: try $0["inbound_body"], inboundAt: try $0["inbound_at"])
        }
        return (rows, total)
    }

    /// `text` with LIKE's wildcards and its escape character taken literally.
    static func likeEscaped(_ text: String) -> String {
        var out = ""
        for ch in text {
            if ch == "\\" || ch == "%" || ch == "_" { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}
