/// In-doubt lookups go on until a horizon after the message went in doubt (`in_doubt_since`),
/// and a provider account found unreachable is marked unavailable for every worker until a
/// probe succeeds (`unavailable_since`; the next probe at `unavailable_until`, then
/// `probe_interval_s` later, growing).
let migration0006InDoubtAndOutages = #"""
ALTER TABLE messages ADD COLUMN in_doubt_since timestamptz;
UPDATE messages SET in_doubt_since = now() WHERE state = 'in_doubt';
ALTER TABLE rate_limits
    ADD COLUMN unavailable_since timestamptz,           -- set: not claimed until a probe succeeds
    ADD COLUMN unavailable_until timestamptz,           -- the next probe
    ADD COLUMN probe_interval_s  double precision;
"""#
