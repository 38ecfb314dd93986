public import Foundation

/// What `dispatcher report` and `dispatcher status` read. The numbers come from the
/// `campaign_report` and `message_report` views, so BI tools querying them agree.
extension Outbox {
    public static let reportStates = ["pending", "sending", "in_doubt", "accepted", "sent", "delivered", "undelivered",
                                      "failed", "expired", "cancelled", "suppressed", "unconfirmed"]

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

    /// One report per campaign (all, or the one named).
    public static func campaignReports(_ c: Connection, campaign: String? = nil) async throws -> [CampaignReport] {
        let stateColumns = reportStates.joined(separator: ", ")
        let rows = try await c.query("""
            SELECT campaign, campaign_id, campaign_status, total, \(unsafeRaw: stateColumns),
                   delivery_rate, send_latency_p50_s, send_latency_p95_s, delivery_latency_p50_s, delivery_latency_p95_s
              FROM campaign_report
             WHERE \(campaign) IS NULL OR campaign = \(campaign)
             ORDER BY campaign_id
            """)
        var reports: [CampaignReport] = []
        for row in rows {
            var states: [String: Int] = [:]
            for (i, s) in reportStates.enumerated() { states[s] = try row.decode(Int.self, at: 4 + i) }
            let base = 4 + reportStates.count
            let id = try row.decode(Int64.self, at: 1)
            let errors = try await c.query("""
                SELECT error_class, error_code, count(*) FROM messages
                 WHERE campaign_id = \(id) AND error_class IS NOT NULL
                 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
                """).map { r in
                    let (cls, code, n) = try r.decode((String, String?, Int).self)
                    return CampaignReport.ErrorCount(errorClass: cls, errorCode: code, count: n)
                }
            let replies = try await c.query("""
                SELECT coalesce(i.keyword, 'other'), count(*) FROM inbound_messages i
                  JOIN messages m ON m.id = i.related_message_id
                 WHERE m.campaign_id = \(id) GROUP BY 1
                """).map { try $0.decode((String, Int).self) }
            let optOuts = try await c.query("""
                SELECT count(DISTINCT o.phone) FROM opt_outs o
                 WHERE o.phone IN (SELECT to_number FROM messages WHERE campaign_id = \(id))
                   AND o.created_at >= (SELECT created_at FROM campaigns WHERE id = \(id))
                """).scalar(Int.self) ?? 0
            let rejected = try await c.query("SELECT count(*) FROM job_rejections WHERE campaign_id = \(id)").scalar(Int.self) ?? 0
            reports.append(CampaignReport(
                campaign: try row.decode(String.self, at: 0), campaignID: id, status: try row.decode(String.self, at: 2),
                total: try row.decode(Int.self, at: 3), states: states,
                deliveryRate: try row.decode(Double.self, at: base),
                sendLatencyP50: try row.decode(Double?.self, at: base + 1), sendLatencyP95: try row.decode(Double?.self, at: base + 2),
                deliveryLatencyP50: try row.decode(Double?.self, at: base + 3), deliveryLatencyP95: try row.decode(Double?.self, at: base + 4),
                errors: errors, replies: Dictionary(uniqueKeysWithValues: replies), optOuts: optOuts, rejectedRows: rejected))
        }
        return reports
    }

    public struct MessageStatus: Sendable, Codable {
        public struct Event: Sendable, Codable {
            public var at: Date
            public var kind: String
            public var source: String
            public var fromState: String?
            public var toState: String?
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
        public var state: String
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
    public static func messageStatus(_ c: Connection, id: Int64) async throws -> MessageStatus? {
        guard let row = try await c.query("""
            SELECT m.id, c.name, m.external_id, m.state, m.provider, m.provider_message_id, m.from_number, m.to_number,
                   m.segments, m.attempts, m.error_code, m.error_class, m.created_at, m.due_at, m.expires_at,
                   m.accepted_at, m.final_at
              FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE m.id = \(id)
            """).first else { return nil }
        let events = try await c.query("""
            SELECT at, kind, source, from_state, to_state, provider_status, http_status, error_code, error_class, latency_ms, detail
              FROM message_events WHERE message_id = \(id) ORDER BY at, id
            """).map { r in
                MessageStatus.Event(
                    at: try r.decode(Date.self, at: 0), kind: try r.decode(String.self, at: 1), source: try r.decode(String.self, at: 2),
                    fromState: try r.decode(String?.self, at: 3), toState: try r.decode(String?.self, at: 4),
                    providerStatus: try r.decode(String?.self, at: 5), httpStatus: try r.decode(Int?.self, at: 6),
                    errorCode: try r.decode(String?.self, at: 7), errorClass: try r.decode(String?.self, at: 8),
                    latencyMs: try r.decode(Int?.self, at: 9), detail: try r.decode(String?.self, at: 10))
            }
        return MessageStatus(
            id: try row.decode(Int64.self, at: 0), campaign: try row.decode(String.self, at: 1),
            externalID: try row.decode(String.self, at: 2), state: try row.decode(String.self, at: 3),
            provider: try row.decode(String.self, at: 4), providerMessageID: try row.decode(String?.self, at: 5),
            from: try row.decode(String.self, at: 6), to: try row.decode(String.self, at: 7),
            segments: try row.decode(Int.self, at: 8), attempts: try row.decode(Int.self, at: 9),
            errorCode: try row.decode(String?.self, at: 10), errorClass: try row.decode(String?.self, at: 11),
            createdAt: try row.decode(Date.self, at: 12), dueAt: try row.decode(Date.self, at: 13),
            expiresAt: try row.decode(Date?.self, at: 14), acceptedAt: try row.decode(Date?.self, at: 15),
            finalAt: try row.decode(Date?.self, at: 16), events: events)
    }
}
