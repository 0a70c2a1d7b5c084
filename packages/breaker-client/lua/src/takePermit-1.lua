-- takePermit: a caller asks to go ahead. closed / forced_closed: allowed. open before its cool-down end,
-- forced_open: denied with retryAfterMs. open after its cool-down: becomes half_open with `trials` permits.
-- half_open: hands out one permit atomically (two callers can never both take the last one), or denied.
-- A half_open breaker past its trial deadline hands unreported permits out again.
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
-- Outcomes: allowed | permit | denied

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
--- @include "includes/status"
--- @include "includes/finish"

normalize()
local st = b.state
if st == 'closed' or st == 'forced_closed' then return finish('allowed') end
if st == 'forced_open' then return finish('denied', true) end
if st == 'open' then
  if now < n('until') then return finish('denied', true) end
  local reason = b.reason
  clearStatus()
  b.since = fmt(now); b['until'] = fmt(now + n('trialTimeoutMs')); b.reason = reason
  b.permits = b.trials; b.inflight = '0'; b.successes = '0'
  move('half_open', 'cooldown_elapsed', now)
end
if now >= n('until') then
  b.permits = fmt(n('trials') - n('successes')); b.inflight = '0'; b['until'] = fmt(now + n('trialTimeoutMs'))
  dirty = true
end
if n('permits') > 0 then
  b.permits = fmt(n('permits') - 1); b.inflight = fmt(n('inflight') + 1)
  dirty = true
  return finish('permit')
end
return finish('denied', true)
