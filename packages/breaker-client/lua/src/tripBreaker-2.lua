-- tripBreaker: a finding trips a breaker (closed or half_open -> open, with exponential backoff).
-- Idempotent per findingId: a finding already applied to this breaker changes nothing ('duplicate'), and
-- the transition it caused the first time, if any, is returned again (not re-published on pub/sub) so
-- that a caller that crashed before handing it on can hand it on now (same transitionId).
-- A forced breaker records the finding and stays forced ('overridden'); an open one counts it ('already_open').
-- KEYS
--   KEYS[1] breaker state hash   (BreakerKeys.state)
--   KEYS[2] applied findings hash (BreakerKeys.findings): findingId -> the trip transition JSON it
--           caused ('' if none), kept 7 days after the last trip
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
--   ARGV[5] findingId
--   ARGV[6] reason JSON {ruleId, kind, policyVersion, observed, threshold, findingIds, traceIds, summary}
--   ARGV[7..11] baseMs, capMs, jitter (0..1), trials (>= 1), trialTimeoutMs (>= 1)
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
-- Outcomes: tripped | duplicate | already_open | overridden

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
--- @include "includes/open"
--- @include "includes/finish"

local findingsKey = KEYS[2]
local findingId = ARGV[5]
local reasonRaw = ARGV[6]
local baseMs, capMs, jitter, trials, trialTimeoutMs = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
-- KEYS[2] must be this breaker's findings hash (same hash tag, so also the same slot).
if string.sub(findingsKey, -9) ~= ':findings' or string.sub(findingsKey, 1, -10) ~= string.sub(stateKey, 1, -7) then return -2 end
if findingId == '' or not baseMs or not capMs or not jitter or not trials or not trialTimeoutMs then return -2 end
if baseMs < 1 or capMs < baseMs or jitter < 0 or jitter > 1 or trials < 1 or trialTimeoutMs < 1 then return -2 end
local ok, decoded = pcall(cjson.decode, reasonRaw)
if not ok or type(decoded) ~= 'table' then return -2 end

normalize()
local prior = redis.call('HGET', findingsKey, findingId)
if prior then return finish('duplicate', false, prior) end
local function remember(transition)
  redis.call('HSET', findingsKey, findingId, transition)
  redis.call('EXPIRE', findingsKey, 604800)
end
local st = b.state
if st == 'forced_open' or st == 'forced_closed' then
  remember('')
  return finish('overridden')
end
if st == 'open' and now < n('until') then
  b.findings = fmt(n('findings') + 1)
  dirty = true
  remember('')
  return finish('already_open')
end
if st == 'closed' and not (n('closedAt') > 0 and now - n('closedAt') < n('capMs')) then b.trips = '0' end
b.baseMs = ARGV[7]; b.capMs = ARGV[8]; b.jitter = ARGV[9]; b.trials = ARGV[10]; b.trialTimeoutMs = ARGV[11]
b.findings = '1'
openBreaker(reasonRaw, 'trip', findingId)
remember(transitions[#transitions])
return finish('tripped')
