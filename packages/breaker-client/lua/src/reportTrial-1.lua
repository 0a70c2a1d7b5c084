-- reportTrial: the outcome of a half-open trial call. A failure re-opens the breaker (one more trip, longer
-- backoff); the `trials`-th success closes it. Ignored unless half_open with a permit in flight.
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
--   ARGV[5] '1' success, '0' failure
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
-- Outcomes: applied | ignored

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
--- @include "includes/open"
--- @include "includes/finish"

if ARGV[5] ~= '1' and ARGV[5] ~= '0' then return -2 end
normalize()
if b.state ~= 'half_open' or n('inflight') == 0 then return finish('ignored') end
b.inflight = fmt(n('inflight') - 1)
dirty = true
if ARGV[5] == '0' then
  openBreaker(b.reason, 'trial_failed', nil)
else
  b.successes = fmt(n('successes') + 1)
  if n('successes') >= n('trials') then
    b.closedAt = fmt(now); b.findings = '0'
    clearStatus()
    move('closed', 'trials_succeeded', now)
  end
end
return finish('applied')
