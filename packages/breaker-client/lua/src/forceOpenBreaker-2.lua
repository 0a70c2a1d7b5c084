-- forceOpenBreaker: an operator override: any state -> forced_open until now + ttlMs, with actor and reason.
-- The override expires to closed (never half_open). Creates the breaker if it does not exist.
-- The TTL starts when the script runs, which is never after the write deadline; the transitions are
-- appended to the breaker's audit outbox in the same step.
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
--   KEYS[2] the breaker's audit outbox stream (BreakerKeys.audit)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
--   ARGV[5] actor, ARGV[6] reason (note), ARGV[7] ttlMs (>= 1)
--   ARGV[8] write deadline in epoch ms: past it (Redis TIME, or ARGV[1]) the script refuses (-4)
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[], outbox[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts; outbox: the audit stream's entry ids
--   of the transitions, in order), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
--   -4 the write deadline has passed: nothing is changed (the caller has reported the write abandoned)
-- Outcomes: forced

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
--- @include "includes/status"
--- @include "includes/finish"
--- @include "includes/override"

local ttl = tonumber(ARGV[7])
if ARGV[5] == '' or ARGV[6] == '' or not ttl or ttl < 1 then return -2 end
local late = checkDeadline(8)
if late then return late end
normalize()
clearStatus()
b.since = fmt(now); b['until'] = fmt(now + ttl); b.actor = ARGV[5]; b.note = ARGV[6]
move('forced_open', 'force_open', now, nil, ARGV[5], ARGV[6])
return finishAudited('forced')
