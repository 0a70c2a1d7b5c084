-- The arguments every breaker script takes (protocol v1, docs/breaker-protocol.md): KEYS[1] the state
-- hash, ARGV[1] the time override ('' in production: Redis TIME), ARGV[2] the transitions channel,
-- ARGV[3..4] scope and id. Defines stateKey, channel, scope, id and now (epoch ms).

local stateKey = KEYS[1]
local channel = ARGV[2]
local scope = ARGV[3]
local id = ARGV[4]

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
  if not now then return -2 end
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
