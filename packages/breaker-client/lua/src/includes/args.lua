-- The arguments every breaker script takes (protocol v1, docs/breaker-protocol.md): KEYS[1] the state
-- hash, ARGV[1] the time override ('' in production: Redis TIME), ARGV[2] the transitions channel,
-- ARGV[3..4] scope and id. Defines stateKey, channel, scope, id and now (epoch ms).
-- Returns -2 (an argument is invalid) for a scope the protocol does not have, an id it does not allow
-- (empty, whitespace or braces, more than 800 bytes; the global breaker's id is 'all'), or a KEYS[1] that
-- is not this breaker's state hash: a client in any language gets the same refusal.

local stateKey = KEYS[1]
local channel = ARGV[2]
local scope = ARGV[3]
local id = ARGV[4]

local SCOPES = { global = true, vendor = true, agent = true, user = true, action = true }
if not SCOPES[scope] or id == nil or id == '' or #id > 800 or string.find(id, '[%s{}]') then return -2 end
if scope == 'global' and id ~= 'all' then return -2 end
local keySuffix = ':brk:{' .. scope .. ':' .. id .. '}:state'
if #stateKey <= #keySuffix or string.sub(stateKey, -#keySuffix) ~= keySuffix then return -2 end

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
  if not now then return -2 end
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
