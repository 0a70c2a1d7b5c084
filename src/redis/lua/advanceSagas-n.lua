-- advanceSagas: the command relay's step over the sagas that are due: claims the ones with a command
-- to send (giving each a sequence number for the Kafka transaction that will carry it), and times out
-- the ones whose command got no outcome in time (a re-send with backoff, or, after the last attempt,
-- timed_out and queued for escalation). Only the holder of the relay lease may call it, and only when
-- no earlier claim is still unsettled: every sequence number at or below the transactional checkpoint
-- committed to Kafka then belongs to a command that is on the topic (see settleInflight).
-- All keys share the hash tag {cmp}. The number of sagas varies (file suffix -n).
-- KEYS
--   KEYS[1] the relay lease (KeyBuilder.compensationRelayLease)
--   KEYS[2] the due set (KeyBuilder.sagaDue)
--   KEYS[3] the in-flight set (KeyBuilder.sagaInflight): forEventId -> sequence number
--   KEYS[4] the sequence counter (KeyBuilder.sagaSeq)
--   KEYS[5] the escalation set (KeyBuilder.sagaEscalations)
--   KEYS[6..] saga hashes (KeyBuilder.sagaState), one per forEventId in ARGV[8..]
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (Redis TIME)
--   ARGV[2] the caller's lease token
--   ARGV[3] maxAttempts (>= 1, the first send included)
--   ARGV[4] re-send backoff base ms, ARGV[5] its cap ms: attempt n+1 waits min(cap, base * 2^(n-1))
--   ARGV[6] the most commands to claim
--   ARGV[7] seconds a settled saga is kept
--   ARGV[8..] forEventIds, in the order of KEYS[6..]
-- Returns
--   -1 the caller does not hold the lease;  -2 commands claimed earlier are not settled yet
--   otherwise a list of entries:
--     {forEventId, 'send', seq, attempt, commandJSON, findingId, createdMs}   a command to put on the topic now
--     {forEventId, 'resend', attempt, dueAt}                        attempt timed out; the next one is due at dueAt
--     {forEventId, 'timed_out', attempt}                            the last attempt timed out: escalated

--- @include "includes/now"
local lease, due, inflight, seqKey, esc = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if redis.call('GET', lease) ~= ARGV[2] then return -1 end
if redis.call('ZCARD', inflight) > 0 then return -2 end
local maxAttempts, base, cap, limit, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
--- @include "includes/fmt"

local out, claimed = {}, 0
for i = 6, #KEYS do
  local saga, fe = KEYS[i], ARGV[i + 2]
  local h = redis.call('HMGET', saga, 'st', 'att', 'want', 'deadline', 'cmd', 'fid', 'created')
  local st = h[1]
  if not st or st ~= 'requested' then
    redis.call('ZREM', due, fe)
  else
    local at = tonumber(redis.call('ZSCORE', due, fe) or now)
    local att, want = tonumber(h[2]), tonumber(h[3])
    if at <= now then
      if want > att then
        if claimed < limit then
          claimed = claimed + 1
          local seq = redis.call('INCR', seqKey)
          redis.call('ZADD', inflight, seq, fe)
          redis.call('ZREM', due, fe)
          redis.call('HSET', saga, 'seq', fmt(seq), 'sending', fmt(want))
          out[#out + 1] = { fe, 'send', fmt(seq), fmt(want), h[5], h[6], h[7] }
        end
      else
        local deadline = tonumber(h[4] or '0')
        if now < deadline then
          redis.call('ZADD', due, deadline, fe)
        elseif att < maxAttempts then
          local delay = math.min(cap, base * 2 ^ (att - 1))
          redis.call('HSET', saga, 'want', fmt(att + 1), 'timeouts', fmt(att))
          redis.call('ZADD', due, now + delay, fe)
          out[#out + 1] = { fe, 'resend', fmt(att), fmt(now + delay) }
        else
          redis.call('HSET', saga, 'st', 'timed_out', 'settled', fmt(now), 'timeouts', fmt(att))
          redis.call('ZREM', due, fe)
          redis.call('ZADD', esc, now, fe)
          redis.call('EXPIRE', saga, ttl)
          out[#out + 1] = { fe, 'timed_out', fmt(att) }
        end
      end
    end
  end
end
return out
