import Support

/// Recipients' numbers out of stored provider texts. Plum's refusal "To number: +12025550143,
/// is not a mobile number" was stored as `error_code` as given, so reports grouped errors by
/// recipient and showed the numbers. The dispatcher now stores such texts with every number
/// replaced by `[number]` (`PhoneNumberScrubbing`); this migration does the same to the rows
/// stored before, in `messages` and `message_events`, with the same rule (`load`, the rule
/// bound as a parameter). `message_events` is append-only: its guard trigger is set aside for
/// this one rewrite, inside the migration's transaction, and no other change is made to an
/// event. Its cost is one pass over each table.
let migration0010ScrubbedProviderTexts = #"""
-- The rows are rewritten by the migration's load step, after this line.
SELECT 1;
"""#

enum ScrubbedProviderTexts {
    static func load(_ connection: Connection) async throws {
        let pattern = PhoneNumberScrubbing.pattern, replacement = PhoneNumberScrubbing.replacement
        try await connection.execute("""
            UPDATE messages SET error_code = regexp_replace(error_code, \(pattern), \(replacement), 'g')
             WHERE error_code ~ \(pattern)
            """)
        try await connection.execute("ALTER TABLE message_events DISABLE TRIGGER message_events_no_update")
        try await connection.execute("""
            UPDATE message_events SET error_code = regexp_replace(error_code, \(pattern), \(replacement), 'g')
             WHERE error_code ~ \(pattern)
            """)
        try await connection.execute("ALTER TABLE message_events ENABLE TRIGGER message_events_no_update")
    }
}
