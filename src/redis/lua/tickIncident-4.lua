-- tickIncident: an incident's timer is due: queue what is due in the outbox (the first e-mail once the
-- group wait is over, a reminder, an Alertmanager re-push) or resolve it (its breakers all closed; or,
-- with no breaker, no finding for the quiet time): a "resolved" e-mail and a resolved alert. Atomic and
-- conditional on the stored times, so when two instances tick the same incident, one queues and the
-- other finds nothing due. All keys share the hash tag {ntf}.
-- KEYS
--   KEYS[1] the incident hash, KEYS[2] its findings, KEYS[3] the timers, KEYS[4] the outbox stream
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (Redis TIME)
--   ARGV[2] incidentId
--   ARGV[3] reminder interval ms   ARGV[4] quiet ms (no breaker)   ARGV[5] alert re-push ms
--   ARGV[6] the incident's breakers: 1 all closed now, 0 some not closed, '' not read
--   ARGV[7] e-mail enabled (1/0)   ARGV[8] Alertmanager enabled (1/0)
--   ARGV[9] seconds a resolved incident is kept   ARGV[10] how often to look at its breakers (ms)
-- Returns
--   {result, window, why, e-mail jobs queued, alert jobs queued}: result gone | closed | waiting |
--   notified | resolved; why (resolved only): breaker_closed | quiet

--- @include "includes/now"
local inc, found, timers, outbox = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id = ARGV[2]
local reminderMs, quietMs, repushMs = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local email, alerts = ARGV[7] == '1', ARGV[8] == '1'
--- @include "includes/fmt"

local h = redis.call('HMGET', inc, 'state', 'win', 'last', 'brk', 'mailAt', 'remindAt', 'amAt', 'reminders')
if not h[1] then
  redis.call('ZREM', timers, id)
  return { 'gone', '0', '', 0, 0 }
end
local win = h[2]
if h[1] ~= 'open' then
  redis.call('ZREM', timers, id)
  return { 'closed', win, '', 0, 0 }
end
local last, mailAt, remindAt, amAt = tonumber(h[3]), tonumber(h[5] or '0'), tonumber(h[6] or '0'), tonumber(h[7] or '0')
local reminders = tonumber(h[8] or '0')
local hasBreakers = h[4] and h[4] ~= '[]'
local queued = { email = 0, alertmanager = 0 }
local function job(ch, kind, n)
  redis.call('XADD', outbox, '*', 'ch', ch, 'inc', id, 'win', win, 'type', kind, 'n', fmt(n))
  queued[ch] = queued[ch] + 1
end

local why = nil
if hasBreakers then
  if ARGV[6] == '1' then why = 'breaker_closed' end
elseif now >= last + quietMs then
  why = 'quiet'
end
if why then
  if email and mailAt > 0 then job('email', 'opened', 0) end
  if email then job('email', 'resolved', 0) end
  if alerts then job('alertmanager', 'resolved', 0) end
  redis.call('HSET', inc, 'state', 'resolved', 'resolvedAt', fmt(now), 'why', why, 'mailAt', '0', 'remindAt', '0', 'amAt', '0')
  redis.call('ZREM', timers, id)
  redis.call('EXPIRE', inc, tonumber(ARGV[9]))
  redis.call('EXPIRE', found, tonumber(ARGV[9]))
  return { 'resolved', win, why, queued.email, queued.alertmanager }
end

if email and mailAt > 0 and now >= mailAt then
  job('email', 'opened', 0)
  mailAt = 0
  remindAt = now + reminderMs
  redis.call('HSET', inc, 'mailAt', '0', 'remindAt', fmt(remindAt), 'mailed', redis.call('HGET', inc, 'n'))
end
if email and remindAt > 0 and now >= remindAt then
  reminders = reminders + 1
  job('email', 'reminder', reminders)
  remindAt = now + reminderMs
  redis.call('HSET', inc, 'remindAt', fmt(remindAt), 'reminders', fmt(reminders), 'mailed', redis.call('HGET', inc, 'n'))
end
if alerts and amAt > 0 and now >= amAt then
  job('alertmanager', 'firing', 0)
  amAt = now + repushMs
  redis.call('HSET', inc, 'amAt', fmt(amAt))
end

local nextAt = hasBreakers and (now + tonumber(ARGV[10])) or (last + quietMs)
for _, t in ipairs({ mailAt, remindAt, amAt }) do
  if t > 0 and t < nextAt then nextAt = t end
end
redis.call('ZADD', timers, nextAt, id)
return { (queued.email + queued.alertmanager) > 0 and 'notified' or 'waiting', win, '', queued.email, queued.alertmanager }
