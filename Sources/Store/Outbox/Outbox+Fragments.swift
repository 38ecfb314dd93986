/// SQL written once and used by several statements. Each takes column expressions chosen by
/// code (never input) and splices only constants; values stay bound parameters.
extension Outbox {
    /// "This message's recipient has opted out of this sender": an opt-out of `phone` against
    /// `sender` or against every sender (`''`), or — in the global scope — any opt-out of `phone`.
    /// `phone` and `sender` are column expressions (`m.to_number`, `m.from_number`).
    static func optedOut(phone: SQL, sender: SQL, scope: OptOutScope) -> SQL {
        switch scope {
        case .sender: "EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = \(phone) AND o.sender IN (\(sender), ''))"
        case .global: "EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = \(phone))"
        }
    }

    /// The `opt_outs.sender` a new opt-out against `sender` is recorded under in `scope`
    /// (`OptOutScope.listedSender`, in SQL).
    static func optOutListedSender(_ sender: SQL, scope: OptOutScope) -> SQL {
        scope == .global ? "''" : sender
    }

    /// What keeps a `rate_limits` key from being claimed.
    enum HaltedKeys {
        /// An operator's halt only (the idle check: an unavailable provider is still work to wait for).
        case halted
        /// A halt, or a provider marked unavailable until a probe succeeds (claims).
        case haltedOrUnavailable
    }

    /// A one-row relation `halted(keys)`: the stopped `rate_limits` keys as one array, for
    /// `CROSS JOIN` with `messageNotHalted`. Read once (an InitPlan), not anti-joined per row:
    /// with a few rows in rate_limits the planner took that join to remove nearly every
    /// message, sorted all pending rows instead of walking the index, and a claim took 0.7 s
    /// with 200,000 pending.
    static func haltedKeys(_ which: HaltedKeys) -> SQL {
        switch which {
        case .halted:
            "(SELECT coalesce(array_agg(key), '{}') AS keys FROM rate_limits WHERE halted_at IS NOT NULL) AS halted"
        case .haltedOrUnavailable:
            """
            (SELECT coalesce(array_agg(key), '{}') AS keys
               FROM rate_limits WHERE halted_at IS NOT NULL OR unavailable_since IS NOT NULL) AS halted
            """
        }
    }

    /// Neither message `m`'s sender number nor its provider account is among `halted.keys`
    /// (`RateLimits.senderKey` and `providerKey` spellings).
    static let messageNotHalted: SQL =
        "NOT ('sender:' || m.from_number = ANY(halted.keys) OR 'provider:' || m.provider = ANY(halted.keys))"

    /// One `message_events` row as SQL expressions over the rows of a query: the event table's
    /// column list, written once. A column not given is NULL (`at`: the transaction's `now()`).
    struct EventRow {
        var messageID: SQL
        var at: SQL = "now()"
        var kind: SQL
        var source: SQL
        var fromState: SQL = "NULL"
        var toState: SQL = "NULL"
        var providerStatus: SQL = "NULL"
        var httpStatus: SQL = "NULL"
        var errorCode: SQL = "NULL"
        var errorClass: SQL = "NULL"
        var latencyMs: SQL = "NULL"
        var scheduledAt: SQL = "NULL"
        var detail: SQL = "NULL"
    }

    /// `INSERT INTO message_events (…) SELECT <row> <rest>`: `rest` is the query's `FROM …`
    /// (with any `WHERE`, `ORDER BY`, `RETURNING`).
    static func eventsInsert(_ row: EventRow, _ rest: SQL) -> SQL {
        """
        INSERT INTO message_events (message_id, at, kind, source, from_state, to_state, provider_status,
                                    http_status, error_code, error_class, latency_ms, scheduled_at, detail)
        SELECT \(row.messageID), \(row.at), \(row.kind), \(row.source), \(row.fromState), \(row.toState),
               \(row.providerStatus), \(row.httpStatus), \(row.errorCode), \(row.errorClass), \(row.latencyMs),
               \(row.scheduledAt), \(row.detail)
        \(rest)
        """
    }

    /// One `count(*) FILTER (WHERE <state> = '…') AS <state name>` column per message state,
    /// in lifecycle order: the state counts of `campaign_report`, for statements that count
    /// without the view. `state` is a column expression (`m.state`).
    static func stateCountColumns(_ state: SQL) -> SQL {
        var columns: SQL = ""
        for (i, s) in MessageState.allCases.enumerated() {
            columns = "\(columns)\(unsafeRaw: i == 0 ? "" : ",\n")count(*) FILTER (WHERE \(state) = \(s)) AS \(unsafeRaw: s.rawValue)"
        }
        return columns
    }

    /// `CASE <name> WHEN 'pending' THEN <row>.pending … ELSE 0 END`: the count column of
    /// `row` (one with `stateCountColumns`) for the state named by `name`, a value.
    static func stateCountOf(_ name: SQL, in row: String) -> SQL {
        var cases: SQL = "CASE \(name)"
        for s in MessageState.allCases {
            cases = "\(cases) WHEN \(s) THEN \(unsafeRaw: row + "." + s.rawValue)"
        }
        return "\(cases) ELSE 0 END"
    }

    /// `coalesce(<row>.pending, 0) AS pending, …` for every state column of `row`, then its
    /// `delivery_rate` as `campaign_report` computes it (delivered over the final states).
    static func stateColumnsOrZero(_ row: String) -> SQL {
        var columns: SQL = ""
        for s in MessageState.allCases {
            columns = "\(columns)coalesce(\(unsafeRaw: row + "." + s.rawValue), 0) AS \(unsafeRaw: s.rawValue),\n"
        }
        let finals = MessageState.allCases.filter(\.isFinal).map { row + "." + $0.rawValue }.joined(separator: " + ")
        let delivered = row + "." + MessageState.delivered.rawValue
        return "\(columns)coalesce(\(unsafeRaw: delivered)::float8 / nullif(\(unsafeRaw: finals), 0), 0) AS delivery_rate"
    }
}
