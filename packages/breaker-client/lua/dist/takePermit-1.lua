-- takePermit: a caller asks to go ahead. closed / forced_closed: allowed. open before its cool-down end,
-- forced_open: denied with retryAfterMs. open after its cool-down: becomes half_open with `trials` permits.
-- half_open: hands out one permit atomically (two callers can never both take the last one), or denied.
-- A half_open breaker past its trial deadline hands unreported permits out again.
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
-- Outcomes: allowed | permit | denied

-- The shared prologue (arguments, loading, state changes, result; protocol v1):
-- >>> includes/status
-- State changes: clearStatus() drops the fields of one state, move() records a transition (and its
-- deterministic id), normalize() turns an expired forced override into closed.
-- >>> load
-- Loads the breaker hash into the table `b` (a missing hash is a fresh closed breaker; another protocol
-- version, or a state v1 does not know, returns -1 and changes nothing), and the helpers every script uses: n(field) as a number, fmt(x) as an integer
-- string; `transitions` and `dirty` collect what the script changes.
-- >>> args
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
-- <<< args

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
-- <<< load

-- Removes the fields that belong to one state only.
local function clearStatus()
  b.since = nil; b['until'] = nil; b.reason = nil; b.permits = nil; b.inflight = nil; b.successes = nil
  b.actor = nil; b.note = nil
end

-- Records a transition to `to` (the caller has already set the new state's fields).
local function move(to, cause, at, findingId, actor, note)
  local from = b.state
  b.seq = fmt(n('seq') + 1)
  b.state = to
  dirty = true
  local tid
  if findingId then
    tid = redis.sha1hex(scope .. '\0' .. id .. '\0' .. 'finding' .. '\0' .. findingId)
  else
    tid = redis.sha1hex(scope .. '\0' .. id .. '\0' .. 'seq' .. '\0' .. b.seq .. '\0' .. fmt(at))
  end
  local untilV = cjson.null
  if to ~= 'closed' then untilV = n('until') end
  local t = { transitionId = 'tr_' .. string.sub(tid, 1, 32), protocolVersion = 1, scope = scope, scopeId = id,
    from = from, to = to, cause = cause, at = at, ['until'] = untilV, trips = n('trips'),
    findingId = findingId or cjson.null, actor = actor or cjson.null, note = note or cjson.null }
  local reason = 'null'
  if to == 'open' and cause == 'trip' then reason = b.reason end
  transitions[#transitions + 1] = string.sub(cjson.encode(t), 1, -2) .. ',"reason":' .. reason .. '}'
end

-- A forced override past its expiry becomes closed (never half_open).
local function normalize()
  local st = b.state
  if (st == 'forced_open' or st == 'forced_closed') and now >= n('until') then
    local at = n('until')
    clearStatus()
    move('closed', 'override_expired', at)
  end
end
-- <<< includes/status
-- >>> includes/finish
-- finish(): saves the hash if it changed, publishes the transitions, returns the result as JSON.
-- (load is included above)

-- Saves (whole hash) if changed, publishes the transitions, returns the result as JSON.
local function finish(outcome, retry, replay)
  if dirty then
    redis.call('DEL', stateKey)
    local args = {}
    for k, v in pairs(b) do args[#args + 1] = k; args[#args + 1] = v end
    redis.call('HSET', stateKey, unpack(args))
  end
  for _, t in ipairs(transitions) do redis.call('PUBLISH', channel, t) end
  local st = b.state
  local res = { outcome = outcome, state = st, ['until'] = cjson.null, retryAfterMs = cjson.null,
    actor = cjson.null, note = cjson.null }
  if st ~= 'closed' then res['until'] = n('until') end
  if retry and st ~= 'closed' then
    local r = n('until') - now
    if r < 0 then r = 0 end
    res.retryAfterMs = r
  end
  if st == 'forced_open' or st == 'forced_closed' then res.actor = b.actor; res.note = b.note end
  local reason = 'null'
  if st == 'open' or st == 'half_open' then reason = b.reason end
  -- A replayed transition (a duplicate finding's original trip) is returned, not published again.
  local list = table.concat(transitions, ',')
  if replay and replay ~= '' then
    if list ~= '' then list = list .. ',' end
    list = list .. replay
  end
  return string.sub(cjson.encode(res), 1, -2) .. ',"reason":' .. reason .. ',"transitions":[' .. list .. ']}'
end
-- <<< includes/finish

normalize()
local st = b.state
if st == 'closed' or st == 'forced_closed' then return finish('allowed') end
if st == 'forced_open' then return finish('denied', true) end
if st == 'open' then
  if now < n('until') then return finish('denied', true) end
  local reason = b.reason
  clearStatus()
  b.since = fmt(now); b['until'] = fmt(now + n('trialTimeoutMs')); b.reason = reason
  b.permits = b.trials; b.inflight = '0'; b.successes = '0'
  move('half_open', 'cooldown_elapsed', now)
end
if now >= n('until') then
  b.permits = fmt(n('trials') - n('successes')); b.inflight = '0'; b['until'] = fmt(now + n('trialTimeoutMs'))
  dirty = true
end
if n('permits') > 0 then
  b.permits = fmt(n('permits') - 1); b.inflight = fmt(n('inflight') + 1)
  dirty = true
  return finish('permit')
end
return finish('denied', true)
