extension Outbox {
    /// True when `key` is the callback key of a message sent through `provider` (the outbox
    /// id, its token, and its provider account all agree). A callback is judged by this
    /// before its body: only the holder of a real key learns that a body is malformed.
    public static func callbackKeyCheck(_ c: Connection, key: CallbackKey, provider: String) async throws -> Bool {
        try await c.query("""
            SELECT 1 FROM messages WHERE id = \(key.messageID) AND callback_token = \(key.token) AND provider = \(provider)
            """).count > 0
    }

    /// Records an authenticated callback whose status the dispatcher does not act on (a
    /// status word it does not know, or `received`): the body as received becomes a
    /// `callback` event and the message's next status poll is due at once, so the provider
    /// is asked what it meant. Nothing else changes. The same rules as `inboxCallbackInsertMany`: an
    /// unknown key is `.unknownToken`; a body naming another provider id is
    /// `.providerIDMismatch` (kept as a `callback_rejected` event).
    public static func callbackNotUnderstoodRecord(
        _ c: Connection, key: CallbackKey, provider: String, providerMessageID: String, providerStatus: String, raw: String?
    ) async throws -> CallbackVerdict {
        let events = eventsInsert(EventRow(
            messageID: "id", kind: "CASE WHEN is_ours THEN \(EventKind.callback) ELSE \(EventKind.callbackRejected) END",
            source: "\(EventSource.callback)", providerStatus: "\(providerStatus)",
            detail: """
                CASE WHEN is_ours THEN 'not understood: status ' || \(providerStatus) || ' is not one the dispatcher acts on; status poll scheduled'
                     ELSE 'rejected: provider id ' || \(providerMessageID) || ' is not this message''s; nothing changed' END
                || coalesce('; ' || \(raw), '')
                """), """
            FROM matched
            RETURNING 1
            """)
        let verdict = try await c.query("""
            WITH matched AS (
                SELECT m.id, m.provider_message_id AS known_id,
                       (m.provider_message_id IS NULL OR m.provider_message_id = \(providerMessageID)) AS is_ours
                  FROM messages m
                 WHERE m.id = \(key.messageID) AND m.callback_token = \(key.token) AND m.provider = \(provider)
            ), recorded AS (
                \(events)
            ), polled AS (
                UPDATE messages m SET poll_next_at = now()
                  FROM matched
                 WHERE m.id = matched.id AND matched.is_ours AND m.state IN (\([MessageState.accepted, .sent]))
                RETURNING 1
            )
            SELECT CASE WHEN is_ours THEN 1 ELSE 2 END FROM matched
            """).scalar(Int.self)
        return verdict.flatMap(CallbackVerdict.init(rawValue:)) ?? .unknownToken
    }
}
