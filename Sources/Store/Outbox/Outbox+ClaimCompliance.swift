import Jobs

/// The claim's quiet-hours and frequency-cap steps (`messageClaimMany`), as SQL fragments over
/// its `clock`, `due` (the locked candidate rows, `m`/`c` inside) CTEs. docs/compliance.md
/// describes the rules; `dispatcher_next_allowed` (migration 9) is the Swift `QuietHours` in SQL.
extension Outbox {
    /// For the `due` select list: NULL when row `m` of campaign `c` may go at `clock.now`, else the
    /// next allowed instant, or `'infinity'` when none comes within 14 days. Campaigns without a
    /// window or policy (and no default policy) skip the function call.
    static func quietUntil(defaultPolicy: QuietHoursPolicy?) -> SQL {
        let policy: SQL = defaultPolicy.map { "coalesce(c.quiet_hours, \($0.rawValue))" } ?? "c.quiet_hours"
        return """
            CASE WHEN \(policy) IS NULL AND c.window_tz IS NULL THEN NULL
                 ELSE nullif(coalesce(dispatcher_next_allowed(m.to_number, c.window_start, c.window_end, c.window_tz, \(policy),
                                                              coalesce(nullif(c.window_tz, 'recipient'), \(SendingCompliance.fallbackTimeZone)),
                                                              clock.now),
                                      'infinity'), clock.now) END
            """
    }

    /// The CTE(s) ending in `decided`: `due`'s rows with `is_capped` (suppress them),
    /// `defer_until` (leave them pending until then), `held_reason` (`quiet_hours`,
    /// `frequency_cap`) and `held_long` (no allowed instant within 14 days: held a day).
    ///
    /// With a cap, first attempts (`first_try`) that pass the other checks are ranked per
    /// recipient (and sender) and the `frequency_windows` row of each is upserted in key order:
    /// `ON CONFLICT DO UPDATE` waits for a concurrent claimer's row and then sees its committed
    /// sends, so two workers never together exceed the cap. Row `rank` is within the cap when
    /// `rank <= granted`; beyond it, the `rank - granted`-th oldest counted send leaving the 24
    /// hours is when it may go.
    static func decided(cap: FrequencyCap?) -> SQL {
        var ctes: SQL = ""
        var capUntil: SQL = "NULL::timestamptz"
        var joins: SQL = ""
        var deferCapped: SQL = "false"
        if let cap {
            let senderKey: SQL = cap.per == .sender ? "due.from_number" : "''"
            let live: SQL = "(SELECT count(*) FROM unnest(f.sends) s WHERE s > EXCLUDED.sends[1] - interval '24 hours')"
            let room: SQL = "least(EXCLUDED.granted, greatest(0, \(cap.max) - \(live)))"
            deferCapped = cap.action == .defer ? "true" : "false"
            ctes = """
                -- first attempts that would be sent, ranked per recipient (and sender)
                ranked AS (
                    SELECT due.id, due.to_number, \(senderKey) AS sender_key,
                           row_number() OVER (PARTITION BY due.to_number, \(senderKey) ORDER BY due.next_attempt_at, due.id) AS rank
                      FROM due
                     WHERE due.first_try AND NOT due.is_expired AND NOT due.is_opted_out AND due.quiet_until IS NULL
                ),
                -- the cap's ledger, locked per key in key order; EXCLUDED.sends[1] is clock.now
                ledger AS (
                    INSERT INTO frequency_windows AS f (recipient, sender, sends, granted)
                    SELECT r.to_number, r.sender_key,
                           array_fill(clock.now, ARRAY[least(count(*), \(cap.max))::integer]), least(count(*), \(cap.max))
                      FROM ranked r, clock
                     GROUP BY r.to_number, r.sender_key, clock.now
                     ORDER BY r.to_number, r.sender_key
                    ON CONFLICT (recipient, sender) DO UPDATE
                       SET granted = \(room),
                           sends   = ARRAY(SELECT s FROM unnest(f.sends) s WHERE s > EXCLUDED.sends[1] - interval '24 hours' ORDER BY s)
                                     || EXCLUDED.sends[1:\(room)]
                    RETURNING f.recipient, f.sender, f.granted, f.sends
                ),

                """
            capUntil = """
                CASE WHEN r.rank > l.granted
                     THEN coalesce(l.sends[(r.rank - l.granted)::integer], l.sends[cardinality(l.sends)], clock.now) + interval '24 hours' END
                """
            joins = """
                LEFT JOIN ranked r ON r.id = due.id
                LEFT JOIN ledger l ON l.recipient = r.to_number AND l.sender = r.sender_key
                """
        }
        return """
            \(ctes)decided AS (
                SELECT x.id, x.ctid, x.is_expired, x.is_opted_out,
                       x.cap_until IS NOT NULL AND NOT \(deferCapped) AS is_capped,
                       CASE WHEN x.is_expired OR x.is_opted_out THEN NULL
                            WHEN x.quiet_until = 'infinity' THEN x.now + interval '1 day'
                            WHEN x.quiet_until IS NOT NULL THEN x.quiet_until
                            WHEN x.cap_until IS NOT NULL AND \(deferCapped) THEN x.cap_until END AS defer_until,
                       CASE WHEN x.is_expired OR x.is_opted_out THEN NULL
                            WHEN x.quiet_until IS NOT NULL THEN \(quietHoursReason)
                            WHEN x.cap_until IS NOT NULL THEN \(FrequencyCap.errorClass) END AS held_reason,
                       coalesce(x.quiet_until = 'infinity', false) AS held_long
                  FROM (SELECT due.*, clock.now, \(capUntil) AS cap_until
                          FROM due CROSS JOIN clock
                          \(joins)) x
            )
            """
    }

    /// The `error_class` of a quiet-hours deferral event.
    static let quietHoursReason = "quiet_hours"

    /// The event detail of a row `decided` held back (`claimed.held_reason` is set).
    static let heldDetail: SQL = """
        CASE WHEN claimed.held_long THEN 'outside quiet hours and no allowed instant within 14 days: held a day'
             WHEN claimed.held_reason = 'quiet_hours' THEN 'outside quiet hours: deferred to the next allowed instant'
             WHEN claimed.state = \(MessageState.pending) THEN 'over the frequency cap: deferred until a counted send leaves the 24 hours'
             ELSE 'over the frequency cap: suppressed' END
        """
}

extension FrequencyCap {
    /// The `error_class` of a capped message (and of the events of deferred ones).
    public static let errorClass = "frequency_cap"
}
