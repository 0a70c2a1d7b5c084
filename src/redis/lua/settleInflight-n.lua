-- settleInflight: after the relay's Kafka transaction ended (or after a crash, by the next holder of
-- the lease), settles the claimed commands against the transactional checkpoint read back from Kafka:
-- a command whose sequence number is at or below it is on the topic (its attempt counts as sent, its
-- outcome is awaited until the deadline); one above it is not, and is released to be claimed again
-- (with a new, higher number). The checkpoint is committed in the same transaction as the commands,
-- so it says exactly which of them a read_committed consumer sees. The counter is raised to the
-- checkpoint, should Redis have lost it, so that numbers never go back below it.
-- All keys share the hash tag {cmp}. The number of sagas varies (file suffix -n).
-- KEYS
--   KEYS[1] the relay lease, KEYS[2] the in-flight set, KEYS[3] the due set, KEYS[4] the sequence counter
--   KEYS[5..] saga hashes, one per forEventId in ARGV[5..]
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (Redis TIME)
--   ARGV[2] the caller's lease token
--   ARGV[3] the checkpoint: the highest sequence number committed to Kafka (-1: none)
--   ARGV[4] timeoutMs: how long a sent attempt waits for its outcome
--   ARGV[5..] forEventIds, in the order of KEYS[5..]
-- Returns
--   -1 the caller does not hold the lease
--   otherwise a list of {forEventId, 'sent' | 'released', attempt}

--- @include "includes/now"
local lease, inflight, due, seqKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('GET', lease) ~= ARGV[2] then return -1 end
local cursor, timeout = tonumber(ARGV[3]), tonumber(ARGV[4])
--- @include "includes/fmt"
if cursor > tonumber(redis.call('GET', seqKey) or '0') then redis.call('SET', seqKey, fmt(cursor)) end

local out = {}
for i = 5, #KEYS do
  local saga, fe = KEYS[i], ARGV[i]
  local seq = redis.call('ZSCORE', inflight, fe)
  if seq then
    seq = tonumber(seq)
    redis.call('ZREM', inflight, fe)
    local h = redis.call('HMGET', saga, 'st', 'sending', 'att')
    if seq <= cursor then
      local attempt = tonumber(h[2] or h[3] or '1')
      redis.call('HSET', saga, 'att', fmt(attempt), 'sentAt', fmt(now), 'deadline', fmt(now + timeout))
      redis.call('HDEL', saga, 'seq', 'sending')
      if h[1] == 'requested' then redis.call('ZADD', due, now + timeout, fe) end
      out[#out + 1] = { fe, 'sent', fmt(attempt) }
    else
      redis.call('HDEL', saga, 'seq', 'sending')
      if h[1] == 'requested' then redis.call('ZADD', due, now, fe) end
      out[#out + 1] = { fe, 'released', h[2] or '' }
    end
  end
end
return out
