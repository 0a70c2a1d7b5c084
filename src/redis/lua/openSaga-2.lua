-- openSaga: a finding asks for a compensation of the event it names: start the saga for that event,
-- or, when one is already running for it (a redelivered finding, another instance, another finding
-- about the same action), change nothing but remember the findingId. One saga per event to undo, so a
-- command is never sent twice for one action, whoever found it.
-- KEYS
--   KEYS[1] the saga hash (KeyBuilder.sagaState(forEventId))
--   KEYS[2] the due set (KeyBuilder.sagaDue): forEventId -> when the relay must look at it
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (Redis TIME)
--   ARGV[2] forEventId
--   ARGV[3] findingId
--   ARGV[4] the command's static part, JSON (src/compensation/saga-types.ts SagaCommandBase)
--   ARGV[5] compensation kind (cancel | refund | void_auth | release_hold)
--   ARGV[6] the finding's detectedAt, epoch ms (event time; MTTC counts from it)
--   ARGV[7] vendor
-- Returns
--   1 the saga was created (state requested, attempt 1 due now)
--   0 a saga for this event existed (the findingId is added to its field `also`, at most ~2 kB of ids)

--- @include "includes/now"
--- @include "includes/fmt"
local saga, due, fe, fid = KEYS[1], KEYS[2], ARGV[2], ARGV[3]

if redis.call('EXISTS', saga) == 1 then
  if redis.call('HGET', saga, 'fid') ~= fid then
    local also = redis.call('HGET', saga, 'also') or ''
    if not string.find(',' .. also .. ',', ',' .. fid .. ',', 1, true) and #also < 2000 then
      redis.call('HSET', saga, 'also', also == '' and fid or (also .. ',' .. fid))
    end
  end
  return 0
end
redis.call('HSET', saga, 'fe', fe, 'fid', fid, 'cmd', ARGV[4], 'ck', ARGV[5], 'dt', ARGV[6], 'vendor', ARGV[7],
  'st', 'requested', 'att', '0', 'want', '1', 'created', fmt(now))
redis.call('ZADD', due, now, fe)
return 1
