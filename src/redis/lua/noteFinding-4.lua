-- noteFinding: a finding that notifies joins its incident (its kind on its scope). The first finding
-- opens a window: the incident's first e-mail is due after the group wait, its Alertmanager alert at
-- once (an outbox job now). Later findings of the open window are grouped into it (counted, listed).
-- Idempotent per findingId within a window: a redelivered finding, or the same finding from a second
-- instance, changes nothing. Atomic, so two instances never open the same window twice.
-- All keys share the hash tag {ntf}.
-- KEYS
--   KEYS[1] the incident hash (KeyBuilder.incident)
--   KEYS[2] the window's findings (KeyBuilder.incidentFindings): findingId -> arrival time
--   KEYS[3] the timers (KeyBuilder.incidentTimers): incidentId -> when it needs attention next
--   KEYS[4] the outbox stream (KeyBuilder.notifyOutbox)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (Redis TIME)
--   ARGV[2] incidentId          ARGV[3] findingId
--   ARGV[4] kind                ARGV[5] scope type          ARGV[6] scope id
--   ARGV[7] severity (info | warning | critical)
--   ARGV[8] JSON list of the breakers the finding holds open ("scope:id")
--   ARGV[9] the forEventId of the saga the finding started, or ''
--   ARGV[10] group wait ms      ARGV[11] e-mail enabled (1/0)      ARGV[12] Alertmanager enabled (1/0)
--   ARGV[13] alert re-push ms   ARGV[14] the finding as JSON (for the e-mail: summary, evidence)
--   ARGV[15] how often to look at the incident's breakers (ms)
-- Returns
--   {result, window}: result opened | grouped | duplicate

--- @include "includes/now"
local inc, found, timers, outbox = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, fid = ARGV[2], ARGV[3]
local email, alerts = ARGV[11] == '1', ARGV[12] == '1'
--- @include "includes/fmt"
local rank = { info = 0, warning = 1, critical = 2 }

-- A finding of the last window (resolved since, and redelivered now) must not open a new one.
if redis.call('ZSCORE', found, fid) then return { 'duplicate', redis.call('HGET', inc, 'win') or '0' } end
local h = redis.call('HMGET', inc, 'state', 'win', 'sev', 'brk', 'sagas')
local win = tonumber(h[2] or '0')
local result = 'grouped'
if h[1] ~= 'open' then
  win = win + 1
  result = 'opened'
  redis.call('DEL', found)
  redis.call('PERSIST', inc)
  local mailAt = email and (now + tonumber(ARGV[10])) or 0
  local amAt = alerts and (now + tonumber(ARGV[13])) or 0
  redis.call('HSET', inc, 'state', 'open', 'win', fmt(win), 'opened', fmt(now), 'last', fmt(now), 'n', '0',
    'kind', ARGV[4], 'st', ARGV[5], 'sid', ARGV[6], 'sev', ARGV[7], 'sev0', ARGV[7], 'brk', '[]', 'sagas', '',
    'first', ARGV[14], 'mailAt', fmt(mailAt), 'remindAt', '0', 'reminders', '0', 'amAt', fmt(amAt),
    'resolvedAt', '', 'why', '', 'mailed', '0')
  if alerts then
    redis.call('XADD', outbox, '*', 'ch', 'alertmanager', 'inc', id, 'win', fmt(win), 'type', 'firing', 'n', '0')
  end
  h = { 'open', fmt(win), ARGV[7], '[]', '' }
end

if redis.call('ZADD', found, 'NX', now, fid) == 0 then return { 'duplicate', fmt(win) } end
redis.call('HINCRBY', inc, 'n', 1)
redis.call('HSET', inc, 'last', fmt(now), 'latest', ARGV[14])
if rank[ARGV[7]] and rank[ARGV[7]] > (rank[h[3]] or 0) then redis.call('HSET', inc, 'sev', ARGV[7]) end
local add = cjson.decode(ARGV[8])
if #add > 0 then
  local brk = cjson.decode(h[4] or '[]')
  local have = {}
  for _, b in ipairs(brk) do have[b] = true end
  for _, b in ipairs(add) do if not have[b] then brk[#brk + 1] = b; have[b] = true end end
  redis.call('HSET', inc, 'brk', cjson.encode(brk))
end
if ARGV[9] ~= '' then
  local sagas = h[5] or ''
  if not string.find(',' .. sagas .. ',', ',' .. ARGV[9] .. ',', 1, true) and #sagas < 4000 then
    redis.call('HSET', inc, 'sagas', sagas == '' and ARGV[9] or (sagas .. ',' .. ARGV[9]))
  end
end

-- The incident's next timer: the first e-mail, the alert re-push, a look at its breakers or its quiet end.
local hm = redis.call('HMGET', inc, 'mailAt', 'amAt')
local nextAt = now + tonumber(ARGV[15])
for _, v in ipairs(hm) do
  local t = tonumber(v or '0')
  if t > 0 and t < nextAt then nextAt = t end
end
local current = redis.call('ZSCORE', timers, id)
if not current or tonumber(current) > nextAt then redis.call('ZADD', timers, nextAt, id) end
return { result, fmt(win) }
