/// Everything `dispatcher report` shows comes from views, so BI tools reading them agree:
///
/// - `campaign_report` gains `opt_outs` (numbers texted by the campaign that opted out after
///   it was created) and `rejected_rows` (rows `submit --skip-invalid` left out), at the end;
/// - `campaign_error_report`: messages per campaign, error class and raw code;
/// - `campaign_reply_report`: inbound replies linked to a campaign's messages, per keyword.
let migration0007CampaignReportViews = #"""
CREATE OR REPLACE VIEW campaign_report AS
SELECT c.name AS campaign,
       c.id   AS campaign_id,
       c.status AS campaign_status,
       count(m.id)                                        AS total,
       count(*) FILTER (WHERE m.state = 'pending')        AS pending,
       count(*) FILTER (WHERE m.state = 'sending')        AS sending,
       count(*) FILTER (WHERE m.state = 'in_doubt')       AS in_doubt,
       count(*) FILTER (WHERE m.state = 'accepted')       AS accepted,
       count(*) FILTER (WHERE m.state = 'sent')           AS sent,
       count(*) FILTER (WHERE m.state = 'delivered')      AS delivered,
       count(*) FILTER (WHERE m.state = 'undelivered')    AS undelivered,
       count(*) FILTER (WHERE m.state = 'failed')         AS failed,
       count(*) FILTER (WHERE m.state = 'expired')        AS expired,
       count(*) FILTER (WHERE m.state = 'cancelled')      AS cancelled,
       count(*) FILTER (WHERE m.state = 'suppressed')     AS suppressed,
       count(*) FILTER (WHERE m.state = 'unconfirmed')    AS unconfirmed,
       coalesce(
           (count(*) FILTER (WHERE m.state = 'delivered'))::double precision
           / nullif(count(*) FILTER (WHERE m.state IN ('delivered', 'undelivered', 'failed', 'expired',
                                                       'cancelled', 'suppressed', 'unconfirmed')), 0),
           0)                                             AS delivery_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.accepted_at - m.due_at))
           FILTER (WHERE m.accepted_at IS NOT NULL)       AS send_latency_p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM m.accepted_at - m.due_at))
           FILTER (WHERE m.accepted_at IS NOT NULL)       AS send_latency_p95_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.final_at - m.accepted_at))
           FILTER (WHERE m.state = 'delivered')           AS delivery_latency_p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM m.final_at - m.accepted_at))
           FILTER (WHERE m.state = 'delivered')           AS delivery_latency_p95_s,
       -- numbers the campaign texted that opted out (of anyone) after it was created
       (SELECT count(DISTINCT o.phone)
          FROM opt_outs o
         WHERE o.phone IN (SELECT t.to_number FROM messages t WHERE t.campaign_id = c.id)
           AND o.created_at >= c.created_at)              AS opt_outs,
       (SELECT count(*) FROM job_rejections j WHERE j.campaign_id = c.id) AS rejected_rows
  FROM campaigns c
  LEFT JOIN messages m ON m.campaign_id = c.id
 GROUP BY c.id, c.name, c.status;

-- Messages of a campaign with an error, per class and the provider's raw code.
CREATE VIEW campaign_error_report AS
SELECT c.name AS campaign,
       c.id   AS campaign_id,
       m.error_class,
       m.error_code,
       count(*) AS messages
  FROM campaigns c
  JOIN messages m ON m.campaign_id = c.id
 WHERE m.error_class IS NOT NULL
 GROUP BY c.id, c.name, m.error_class, m.error_code;

-- Inbound replies linked to a campaign's messages, per keyword (stop, start, confirm, ...;
-- 'other' when none was recognised).
CREATE VIEW campaign_reply_report AS
SELECT c.name AS campaign,
       c.id   AS campaign_id,
       coalesce(i.keyword, 'other') AS keyword,
       count(*) AS replies
  FROM campaigns c
  JOIN messages m ON m.campaign_id = c.id
  JOIN inbound_messages i ON i.related_message_id = m.id
 GROUP BY c.id, c.name, coalesce(i.keyword, 'other');
"""#
