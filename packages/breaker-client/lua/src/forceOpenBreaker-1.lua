-- forceOpenBreaker: an operator override: any state -> forced_open until now + ttlMs, with actor and reason.
-- The override expires to closed (never half_open). Creates the breaker if it does not exist.
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
--   ARGV[5] actor, ARGV[6] reason (note), ARGV[7] ttlMs (>= 1)
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
-- Outcomes: forced

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
--- @include "includes/status"
--- @include "includes/finish"

local ttl = tonumber(ARGV[7])
if ARGV[5] == '' or ARGV[6] == '' or not ttl or ttl < 1 then return -2 end
normalize()
clearStatus()
b.since = fmt(now); b['until'] = fmt(now + ttl); b.actor = ARGV[5]; b.note = ARGV[6]
move('forced_open', 'force_open', now, nil, ARGV[5], ARGV[6])
return finish('forced')
