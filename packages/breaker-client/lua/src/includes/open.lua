-- Opening a breaker: backoff(k), the deterministic open duration of the k-th consecutive trip, and
-- openBreaker(), which counts the trip and moves to open.
--- @include "status"

-- Open duration of the k-th consecutive trip: min(cap, base*2^(k-1)) minus deterministic jitter.
local function backoff(k)
  local d = tonumber(b.baseMs) * (2 ^ (k - 1))
  local cap = tonumber(b.capMs)
  if d > cap then d = cap end
  local h = redis.sha1hex(scope .. '\0' .. id .. '\0' .. fmt(k))
  local u = tonumber(string.sub(h, 1, 8), 16) / 4294967296
  return math.floor(d - d * tonumber(b.jitter) * u)
end

local function openBreaker(reasonRaw, cause, findingId)
  b.trips = fmt(n('trips') + 1)
  local untilV = now + backoff(n('trips'))
  clearStatus()
  b.since = fmt(now); b['until'] = fmt(untilV); b.reason = reasonRaw
  move('open', cause, now, findingId)
end
