-- Loads the breaker hash into the table `b` (a missing hash is a fresh closed breaker; another protocol
-- version, or a state v1 does not know, returns -1 and changes nothing), and the helpers every script uses: n(field) as a number, fmt(x) as an integer
-- string; `transitions` and `dirty` collect what the script changes.
--- @include "args"

local raw = redis.call('HGETALL', stateKey)
local exists = #raw > 0
local b = {}
for i = 1, #raw, 2 do b[raw[i]] = raw[i + 1] end
if exists and b.v ~= '1' then return -1 end
local STATES = { closed = true, open = true, half_open = true, forced_open = true, forced_closed = true }
if exists and not STATES[b.state] then return -1 end
if not exists then
  b = { v = '1', scope = scope, id = id, state = 'closed', seq = '0', trips = '0', closedAt = '0', findings = '0',
        baseMs = '30000', capMs = '900000', jitter = '0.2', trials = '3', trialTimeoutMs = '30000' }
end

local transitions = {}
local dirty = false

local function n(f) return tonumber(b[f] or '0') or 0 end
local function fmt(x) return string.format('%d', x) end
