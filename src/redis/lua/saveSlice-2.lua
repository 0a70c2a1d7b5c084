-- saveSlice: saves (or deletes) one detector state slice if nobody changed it since it was loaded
-- (optimistic version check), and files its pending timer. Keys share the bucket's hash tag {ds:<n>}.
-- KEYS
--   KEYS[1] the slice hash (KeyBuilder.detectorSlice): fields v (version), s (state JSON), k (rule
--           match key), m (batch marks JSON)
--   KEYS[2] the bucket's timer set (KeyBuilder.detectorTimers)
-- ARGV
--   ARGV[1] expected version: the v loaded, 0 when the slice did not exist
--   ARGV[2] state JSON; '' deletes the slice (expired)
--   ARGV[3] rule match key of the last event applied
--   ARGV[4] batch marks JSON ({"<topic>/<partition>": {"o": lastOffset, "f": [findings]}})
--   ARGV[5] TTL in ms (>= 1), from the slice's expiresAt
--   ARGV[6] due event time in ms of its earliest pending decision; '' when none
--   ARGV[7] timer member: <kind>:<key>
-- Returns
--   the new version (>= 1), 0 when deleted, or -1 when the stored version is not ARGV[1] (conflict:
--   reload the slice and run its events again)

local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then
  return -1
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[7])
  return 0
end
local version = current + 1
redis.call('HSET', KEYS[1], 'v', version, 's', ARGV[2], 'k', ARGV[3], 'm', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[2], ARGV[7])
else
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
end
return version
