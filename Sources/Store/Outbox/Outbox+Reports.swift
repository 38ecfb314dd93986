public import Foundation

/// What `dispatcher report` and `dispatcher status` read. A report's numbers come from the
/// views (`campaign_report`, `campaign_error_report`, `campaign_reply_report`), so BI tools
/// querying them agree.
extension Outbox {
    /// Every state, in lifecycle order: the state columns of `campaign_report`.
    public static let reportStates = MessageState.allCases

    public struct CampaignReport: Sendable, Codable, Equatable {
        public struct ErrorCount: Sendable, Codable, Equatable {
            public var errorClass: String
            public var errorCode: String?
            public var count: Int
        }
        public var campaign: String
        public var campaignID: Int64
        public var status: String
        public var total: Int
        /// Messages per state, keyed by the state's SQL spelling (`MessageState.rawValue`).
        public var states: [String: Int]
        public var deliveryRate: Double
        public var sendLatencyP50: Double?
        public var sendLatencyP95: Double?
        public var deliveryLatencyP50: Double?
        public var deliveryLatencyP95: Double?
        public var errors: [ErrorCount]
        /// Inbound replies linked to the campaign's messages, by keyword (stop, start, confirm, …).
        public var replies: [String: Int]
        public var optOuts: Int
        public var rejectedRows: Int
    }

    /// One report per campaign (all, or the one named), in three queries whatever the number
    /// of campaigns: `campaign_report`, then the error and reply breakdowns of those campaigns.
    public static func campaignReportList(_ c: Connection, campaign: String?) async throws -> [CampaignReport] {
        let rows = try await c.query("""
            SELECT campaign, campaign_id, campaign_status, total, \(unsafeRaw: reportStates.map(\.rawValue).joined(separator: ", ")),
                   delivery_rate, send_latency_p50_s, send_latency_p95_s, delivery_latency_p50_s, delivery_latency_p95_s,
                   opt_outs, rejected_rows
              FROM campaign_report
             WHERE \(campaign)::text IS NULL OR campaign = \(campaign)
             ORDER BY campaign_id
            """)
        guard !rows.isEmpty else { return [] }
        let ids: [Int64] = try rows.map { try $0["campaign_id"] }
        var errors: [Int64: [CampaignReport.ErrorCount]] = [:]
        for r in try await c.query("""
            SELECT campaign_id, error_class, error_code, messages
              FROM campaign_error_report
             WHERE campaign_id = ANY(\(ids))
             ORDER BY campaign_id, messages DESC, error_class, error_code
            """) {
            errors[try r["campaign_id"], default: []].append(CampaignReport.ErrorCount(
                errorClass: try r["error_class"], errorCode: try r["error_code"], count: try r["messages"]))
        }
        var replies: [Int64: [String: Int]] = [:]
        for r in try await c.query("""
            SELECT campaign_id, keyword, replies FROM campaign_reply_report WHERE campaign_id = ANY(\(ids))
            """) {
            replies[try r["campaign_id"], default: [:]][try r["keyword"]] = try r["replies"]
        }
        return try rows.map { row in
            let id: Int64 = try row["campaign_id"]
            var states: [String: Int] = [:]
            for s in reportStates { states[s.rawValue] = try row[s.rawValue] }
            return CampaignReport(
                campaign: try row["campaign"], campaignID: id, status: try row["campaign_status"],
                total: try row["total"], states: states, deliveryRate: try row["delivery_rate"],
                sendLatencyP50: try row["send_latency_p50_s"], sendLatencyP95: try row["send_latency_p95_s"],
                deliveryLatencyP50: try row["delivery_latency_p50_s"], deliveryLatencyP95: try row["delivery_latency_p95_s"],
                errors: errors[id] ?? [], replies: replies[id] ?? [:],
                optOuts: try row["opt_outs"], rejectedRows: try row["rejected_rows"])
        }
    }

    public struct MessageStatus: Sendable, Codable {
        public struct Event: Sendable, Codable {
            public var at: Date
            /// An `EventKind`'s spelling (kept as text: kinds are not constrained in the schema,
            /// and the timeline shows whatever an older version wrote).
            public var kind: String
            public var source: EventSource
            public var fromState: MessageState?
            public var toState: MessageState?
            public var providerStatus: String?
            public var httpStatus: Int?
            public var errorCode: String?
            public var errorClass: String?
            public var latencyMs: Int?
            public var detail: String?
        }
        public var id: Int64
        public var campaign: String
        public var externalID: String
        public var state: MessageState
        public var provider: String
        public var providerMessageID: String?
        public var from: String
        public var to: String
        public var segments: Int
        public var attempts: Int
        public var errorCode: String?
        public var errorClass: String?
        public var createdAt: Date
        public var dueAt: Date
        public var expiresAt: Date?
        public var acceptedAt: Date?
        public var finalAt: Date?
        public var events: [Event]
    }

    /// Messages in the outbox per state, every state present (0 when none): the
    /// `dispatcher_messages` gauge. A scan of the outbox: callers cache it.
    public static func messageCountByState(_ c: Connection) async throws -> [MessageState: Int] {
        var counts = Dictionary(uniqueKeysWithValues: MessageState.allCases.map { ($0, 0) })
        for row in try await c.query("SELECT state, count(*) AS messages FROM messages GROUP BY state") {
            counts[try row["state", as: MessageState.self]] = try row["messages"]
        }
        return counts
    }

    /// Finds messages by outbox id, provider message id, or `campaign/external id`.
    public static func messageFind(_ c: Connection, id text: String) async throws -> [Int64] {
        var ids: [Int64] = []
        if let n = Int64(text) {
            ids += try await c.query("SELECT id FROM messages WHERE id = \(n)").map { try $0.decode(Int64.self, at: 0) }
        }
        ids += try await c.query("SELECT id FROM messages WHERE provider_message_id = \(text) ORDER BY id")
            .map { try $0.decode(Int64.self, at: 0) }
        if let slash = text.firstIndex(of: "/") {
            let campaign = String(text[..<slash]), external = String(text[text.index(after: slash)...])
            ids += try await c.query("""
                SELECT m.id FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                 WHERE c.name = \(campaign) AND m.external_id = \(external)
                """).map { try $0.decode(Int64.self, at: 0) }
        }
        var seen = Set<Int64>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// One message with its whole event timeline.
    public static func messageGetWithEvents(_ c: Connection, id: Int64) async throws -> MessageStatus? {
        guard let row = try await c.query("""
            SELECT m.id, c.name AS campaign, m.external_id, m.state, m.provider, m.provider_message_id, m.from_number,
                   m.to_number, m.segments, m.attempts, m.error_code, m.error_class, m.created_at, m.due_at,
                   m.expires_at, m.accepted_at, m.final_at
              FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE m.id = \(id)
            """).first else { return nil }
        let events = try await c.query("""
            SELECT at, kind, source, from_state, to_state, provider_status, http_status, error_code, error_class, latency_ms, detail
              FROM message_events WHERE message_id = \(id) ORDER BY at, id
            """).map { r in
                MessageStatus.Event(
                    at: try r["at"], kind: try r["kind"], source: try r["source"],
                    fromState: try r["from_state"], toState: try r["to_state"],
                    providerStatus: try r["provider_status"], httpStatus: try r["http_status"],
                    errorCode: try r["error_code"], errorClass: try r["error_class"],
                    latencyMs: try r["latency_ms"], detail: try r["detail"])
            }
        return MessageStatus(
            id: try row["id"], campaign: try row["campaign"], externalID: try row["external_id"], state: try row["state"],
            provider: try row["provider"], providerMessageID: try row["provider_message_id"],
            from: try row["from_number"], to: try row["to_number"], segments: try row["segments"],
            attempts: try row["attempts"], errorCode: try row["error_code"], errorClass: try row["error_class"],
            createdAt: try row["created_at"], dueAt: try row["due_at"], expiresAt: try row["expires_at"],
            acceptedAt: try row["accepted_at"], finalAt: try row["final_at"], events: events)
    }
}
