/// Replays cost a counter, not a row.
///
/// - `messages.duplicate_callbacks`: callbacks that changed nothing about their message
///   (`duplicate`, `stale`, `conflict`). The first few of each message are kept as events
///   with their raw fields; the rest only count here, so a provider (or anyone holding a
///   callback URL) replaying a callback cannot grow `message_events` without bound.
/// - `inbound_messages (from_number, received_at)`: an inbound SMS without a provider
///   message id is a replay when the same numbers sent the same body shortly before; this
///   finds those few rows.
let migration0005ReplayBounds = #"""
ALTER TABLE messages ADD COLUMN duplicate_callbacks integer NOT NULL DEFAULT 0;
CREATE INDEX inbound_messages_from_received_idx ON inbound_messages (from_number, received_at);
"""#
