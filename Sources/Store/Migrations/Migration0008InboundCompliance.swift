/// Inbound replies as compliance records (issue #16): what each reply meant, the reply the
/// dispatcher sent back, and the link from an opt-out to the STOP that made it.
///
/// - `inbound_messages.intent`: what the reply classifier made of the body: `optout`,
///   `optin`, `help`, `review` (might be a revocation: recorded, not acted on) or `reply`.
///   NULL for rows recorded before this migration.
/// - `needs_review`, `review_reason`: a reply waiting for a person, and why.
/// - `opt_out_scope`: for `optout` and `optin`, the `opt_outs.sender` acted on ('' = every
///   sender), so the compliance report shows the scope that was in force.
/// - `suppressed`: pending messages the opt-out turned `suppressed`.
/// - `consent_changed`: an `optout` that created the opt-out (false: the number was already
///   opted out in that scope), an `optin` that removed one.
/// - `reply_message_id`: the confirmation or help reply sent back (a message of the system
///   campaign `system:replies`); unique, so one inbound message gets at most one reply.
/// - `opt_outs.inbound_message_id`: the inbound STOP that created the opt-out; unique, and
///   only that STOP gets a confirmation, so one opt-out gets at most one confirmation.
///
/// Self-contained: only adds columns and indexes.
let migration0008InboundCompliance = #"""
ALTER TABLE inbound_messages
    ADD COLUMN intent            text CHECK (intent IN ('optout', 'optin', 'help', 'review', 'reply')),
    ADD COLUMN needs_review      boolean NOT NULL DEFAULT false,
    ADD COLUMN review_reason     text,
    ADD COLUMN opt_out_scope     text,
    ADD COLUMN suppressed        integer,
    ADD COLUMN consent_changed   boolean,
    ADD COLUMN reply_message_id  bigint;
CREATE UNIQUE INDEX inbound_messages_reply_message_idx ON inbound_messages (reply_message_id)
    WHERE reply_message_id IS NOT NULL;
-- The compliance report: revocations, opt-ins and help replies by time; replies to review.
CREATE INDEX inbound_messages_intent_idx ON inbound_messages (received_at)
    WHERE intent IN ('optout', 'optin', 'help');
CREATE INDEX inbound_messages_review_idx ON inbound_messages (received_at) WHERE needs_review;

ALTER TABLE opt_outs ADD COLUMN inbound_message_id bigint;
CREATE UNIQUE INDEX opt_outs_inbound_message_idx ON opt_outs (inbound_message_id)
    WHERE inbound_message_id IS NOT NULL;
"""#
