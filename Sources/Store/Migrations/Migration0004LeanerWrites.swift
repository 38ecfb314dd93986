/// Fewer writes per message and per callback.
///
/// A message's state changes four times or more (claimed, accepted, sent, final), and every
/// one is a non-HOT update (`state` is in the partial indexes' predicates), so each inserts
/// an entry into every index without a predicate. Two of those were not worth it:
/// - `(campaign_id, state)`: reports and prune read a whole campaign anyway (the
///   `(campaign_id, external_id)` key serves `campaign_id`), and cancel and pause look at
///   pending messages only, which a partial index keeps without a write per later transition;
/// - `(provider, provider_message_id)` indexed the NULL id of every message not yet accepted;
/// - `callback_token`'s unique key: a random value, so each entry landed on a random page.
///   Callback URLs now carry `ID.TOKEN` (`CallbackKey`): the message is found by its primary
///   key and the token compared. Callbacks for messages sent before this migration carry the
///   bare token and get 404 (providers do not retry them): status polling settles those.
///
/// `message_events` loses its primary key: nothing references an event, it is read through
/// `(message_id, id)`, and the key was one more index entry for each of the three to five
/// events of every message (pgbench ceiling of bench/engine.sh: +10 %).
///
/// The inbox keeps only reports still to apply: applying one deletes it (its event is its
/// record), instead of updating it to applied — a new row version per report, and rows that
/// nothing ever removed.
let migration0004LeanerWrites = #"""
DROP INDEX messages_campaign_state_idx;
CREATE INDEX messages_campaign_pending_idx ON messages (campaign_id) WHERE state = 'pending';
ALTER TABLE messages DROP CONSTRAINT messages_provider_message_id_key;
ALTER TABLE messages DROP CONSTRAINT messages_callback_token_key;
CREATE UNIQUE INDEX messages_provider_message_id_key ON messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

ALTER TABLE message_events DROP CONSTRAINT message_events_pkey;

DELETE FROM callback_inbox WHERE applied_at IS NOT NULL;
-- (drops callback_inbox_unapplied_idx with it: every row left is unapplied; the key orders them)
ALTER TABLE callback_inbox DROP COLUMN applied_at, DROP COLUMN outcome;
"""#
