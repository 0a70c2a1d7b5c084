-- raiseSettled: moves the watermark up to which a topic's decisions have been settled forward (never
-- back), so a batch never runs its detectors behind what was already decided.
-- KEYS
--   KEYS[1] the watermarks hash (KeyBuilder.detectorWatermarks); field ~settled:<topic>, value ms
-- ARGV
--   ARGV[1] the field, ~settled:<topic>
--   ARGV[2] the candidate (integer ms)
-- Returns
--   the settled watermark now stored, as a string

local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(current) >= tonumber(ARGV[2]) then
  return current
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
