-- resetBreaker: an operator closes the breaker and forgets its backoff (any state -> closed).
-- The transition is appended to the breaker's audit outbox in the same step.
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
--   KEYS[2] the breaker's audit outbox stream (BreakerKeys.audit)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
--   ARGV[5] actor, ARGV[6] reason (note)
--   ARGV[7] write deadline in epoch ms: past it (Redis TIME, or ARGV[1]) the script refuses (-4)
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[], outbox[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts; outbox: the audit stream's entry ids
--   of the transitions, in order), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
--   -3 no such breaker
--   -4 the write deadline has passed: nothing is changed (the caller has reported the write abandoned)
-- Outcomes: reset

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
--- @include "includes/status"
--- @include "includes/finish"
--- @include "includes/override"

if ARGV[5] == '' or ARGV[6] == '' then return -2 end
local late = checkDeadline(7)
if late then return late end
if not exists then return -3 end
normalize()
b.trips = '0'; b.closedAt = '0'; b.findings = '0'
clearStatus()
move('closed', 'reset', now, nil, ARGV[5], ARGV[6])
return finishAudited('reset')
