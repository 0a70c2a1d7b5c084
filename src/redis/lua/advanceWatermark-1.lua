-- advanceWatermark: moves the shared event-time watermark forward, never back.
-- KEYS
--   KEYS[1] the watermark (KeyBuilder.detectorWatermark), a string holding epoch ms
-- ARGV
--   ARGV[1] the candidate watermark in epoch ms (an integer)
-- Returns
--   the watermark now stored (the larger of the two), as a string

local current = redis.call('GET', KEYS[1])
if current == false or tonumber(ARGV[1]) > tonumber(current) then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return current
