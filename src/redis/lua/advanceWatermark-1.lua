-- advanceWatermark: moves one partition's event-time watermark forward (never back) and stamps it
-- with Redis's clock, so other instances can tell an idle partition from a slow one.
-- KEYS
--   KEYS[1] the watermarks hash (KeyBuilder.detectorWatermarks): field <topic>/<partition>,
--           value "<watermark ms>|<Redis time ms of the partition's last batch>"
-- ARGV
--   ARGV[1] the field, <topic>/<partition>
--   ARGV[2] the candidate watermark in epoch ms (an integer)
-- Returns
--   the partition's watermark now stored (the larger of the two), as a string

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local current = redis.call('HGET', KEYS[1], ARGV[1])
local wm = ARGV[2]
if current then
  local stored = string.match(current, '^([^|]+)')
  if tonumber(stored) >= tonumber(ARGV[2]) then wm = stored end
end
redis.call('HSET', KEYS[1], ARGV[1], wm .. '|' .. string.format('%d', now))
return wm
