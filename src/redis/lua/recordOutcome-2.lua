-- recordOutcome: a compensation.* event from a vendor adapter (or the built-in webhook executor)
-- reports on a saga, paired on compensation.forEventId. Idempotent: a redelivered event changes nothing.
--   requested: the adapter took the command (noted once, the saga waits on)
--   succeeded: the saga ends succeeded, whatever it was (a late success after a time-out counts)
--   failed:    a saga still waiting ends failed (the compensation_failed detector reports it)
-- KEYS
--   KEYS[1] the saga hash (KeyBuilder.sagaState(forEventId)), KEYS[2] the due set (KeyBuilder.sagaDue)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (Redis TIME)
--   ARGV[2] requested | succeeded | failed
--   ARGV[3] the event's eventId
--   ARGV[4] the event's occurredAt, epoch ms
--   ARGV[5] seconds a settled saga is kept
-- Returns
--   {result, previous state, detectedAt ms, compensation kind, vendor}; result is one of
--   unknown (no saga for this event: not a compensation vigil asked for), duplicate, acknowledged,
--   succeeded, failed, ignored (a failure reported after the saga ended)

--- @include "includes/now"
--- @include "includes/fmt"
local saga, due, outcome, eventId, at, ttl = KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local h = redis.call('HMGET', saga, 'st', 'dt', 'ck', 'vendor', 'fe', 'okEvent', 'failEvent', 'ackEvent')
local st = h[1]
if not st then return { 'unknown', '', '', '', '' } end
local function reply(result) return { result, st, h[2] or '', h[3] or '', h[4] or '' } end

if outcome == 'succeeded' then
  if st == 'succeeded' then return reply('duplicate') end
  redis.call('HSET', saga, 'st', 'succeeded', 'okEvent', eventId, 'okAt', at, 'settled', fmt(now))
  redis.call('ZREM', due, h[5])
  redis.call('EXPIRE', saga, ttl)
  return reply('succeeded')
elseif outcome == 'failed' then
  if h[7] == eventId then return reply('duplicate') end
  if st ~= 'requested' then return reply('ignored') end
  redis.call('HSET', saga, 'st', 'failed', 'failEvent', eventId, 'failAt', at, 'settled', fmt(now))
  redis.call('ZREM', due, h[5])
  redis.call('EXPIRE', saga, ttl)
  return reply('failed')
else
  if h[8] then return reply('duplicate') end
  redis.call('HSET', saga, 'ackEvent', eventId, 'ackAt', at)
  return reply('acknowledged')
end
