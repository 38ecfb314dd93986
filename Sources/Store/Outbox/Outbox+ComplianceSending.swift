public import Foundation
public import Jobs

extension Outbox {
    /// The sending half of `dispatcher report --compliance`: when messages went in their
    /// recipients' local time, whether any went outside its window, and what the frequency
    /// cap held back. The dispatcher's own replies to inbound SMS (STOP and START
    /// confirmations, HELP answers) are answers the recipient asked for at that moment, not
    /// campaign sends: they are not counted.
    public struct ComplianceSendingReport: Sendable, Codable, Equatable {
        /// First attempts per hour 0–23 of the recipient's local time: the first zone of its area
        /// code (`dispatcher_area_codes`), or the campaign's zone when the area code is unknown.
        public var sendsByLocalHour: [Int]
        /// First attempts that `dispatcher_send_allowed` says were outside their campaign's
        /// window or quiet hours at that instant. Must be 0.
        public var sentOutsideWindow: Int
        /// Claims that left a message pending for quiet hours (`quiet_hours` events).
        public var quietHoursDeferrals: Int
        /// Claims that deferred a message over the frequency cap.
        public var frequencyCapDeferrals: Int
        /// Messages suppressed by the frequency cap.
        public var frequencyCapSuppressions: Int

        public init(sendsByLocalHour: [Int], sentOutsideWindow: Int, quietHoursDeferrals: Int,
                    frequencyCapDeferrals: Int, frequencyCapSuppressions: Int) {
            self.sendsByLocalHour = sendsByLocalHour
            self.sentOutsideWindow = sentOutsideWindow
            self.quietHoursDeferrals = quietHoursDeferrals
            self.frequencyCapDeferrals = frequencyCapDeferrals
            self.frequencyCapSuppressions = frequencyCapSuppressions
        }
    }

    /// The report over one campaign (by name) or every campaign, counting first attempts and
    /// events at or after `since` (nil: all). `defaultPolicy` is `compliance.quiet_hours`: the
    /// policy campaigns without their own were claimed under.
    public static func complianceSendingReportGet(
        _ c: Connection, campaign: String?, since: Date?, defaultPolicy: QuietHoursPolicy?
    ) async throws -> ComplianceSendingReport {
        let hours = try await c.query("""
            -- first attempts by the hour of the recipient's local time
            SELECT extract(hour FROM m.first_attempt_at AT TIME ZONE
                           coalesce(a.zones[1], nullif(c.window_tz, 'recipient'), \(SendingCompliance.fallbackTimeZone)))::integer AS hour,
                   count(*) AS sends,
                   count(*) FILTER (WHERE NOT dispatcher_send_allowed(
                       m.to_number, c.window_start, c.window_end, c.window_tz, coalesce(c.quiet_hours, \(defaultPolicy?.rawValue)),
                       coalesce(nullif(c.window_tz, 'recipient'), \(SendingCompliance.fallbackTimeZone)), m.first_attempt_at)) AS outside
              FROM messages m
              JOIN campaigns c ON c.id = m.campaign_id
              LEFT JOIN dispatcher_area_codes a
                     ON m.to_number ~ '^\\+1[0-9]{10}$' AND a.npa = substr(m.to_number, 3, 3)::integer
             WHERE m.first_attempt_at IS NOT NULL
               AND c.name <> \(systemRepliesCampaign)
               AND (\(campaign)::text IS NULL OR c.name = \(campaign))
               AND (\(since)::timestamptz IS NULL OR m.first_attempt_at >= \(since))
             GROUP BY 1
            """)
        var byHour = Array(repeating: 0, count: 24)
        var outside = 0
        for row in hours {
            let hour: Int = try row["hour"]
            if (0..<24).contains(hour) { byHour[hour] += try row["sends"] as Int }
            outside += try row["outside"] as Int
        }
        let held = try await c.query("""
            -- claims that held a message back, by reason
            SELECT count(*) FILTER (WHERE e.error_class = \(Outbox.quietHoursReason)) AS quiet,
                   count(*) FILTER (WHERE e.error_class = \(FrequencyCap.errorClass) AND e.to_state = \(MessageState.pending)) AS cap_deferred,
                   count(*) FILTER (WHERE e.error_class = \(FrequencyCap.errorClass) AND e.to_state = \(MessageState.suppressed)) AS cap_suppressed
              FROM message_events e
              JOIN messages m ON m.id = e.message_id
              JOIN campaigns c ON c.id = m.campaign_id
             WHERE e.error_class IN (\(Outbox.quietHoursReason), \(FrequencyCap.errorClass))
               AND e.from_state = \(MessageState.pending)
               AND (\(campaign)::text IS NULL OR c.name = \(campaign))
               AND (\(since)::timestamptz IS NULL OR e.at >= \(since))
            """)
        let row = try held.first.map { r in (try r["quiet"] as Int, try r["cap_deferred"] as Int, try r["cap_suppressed"] as Int) } ?? (0, 0, 0)
        return ComplianceSendingReport(sendsByLocalHour: byHour, sentOutsideWindow: outside, quietHoursDeferrals: row.0,
                                       frequencyCapDeferrals: row.1, frequencyCapSuppressions: row.2)
    }
}
