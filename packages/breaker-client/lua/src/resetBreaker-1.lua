-- resetBreaker: an operator closes the breaker and forgets its backoff (any state -> closed).
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
--   ARGV[5] actor, ARGV[6] reason (note)
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
--   -3 no such breaker
-- Outcomes: reset

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
--- @include "includes/status"
--- @include "includes/finish"

if ARGV[5] == '' or ARGV[6] == '' then return -2 end
if not exists then return -3 end
normalize()
b.trips = '0'; b.closedAt = '0'; b.findings = '0'
clearStatus()
move('closed', 'reset', now, nil, ARGV[5], ARGV[6])
return finish('reset')
