/// The rescuer's expiry sweep (`Outbox.messageExpireMany`) looked at every pending row: 60 ms
/// per pass with 200,000 pending. Only messages that can expire are in this index.
let migration0003ExpiryIndex = #"""
CREATE INDEX messages_expiry_idx ON messages (expires_at)
    WHERE state = 'pending' AND expires_at IS NOT NULL;
"""#
