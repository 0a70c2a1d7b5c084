-- forceCloseBreaker: an operator override: any state -> forced_closed until now + ttlMs, with actor and reason.
-- The override expires to closed (never half_open). Creates the breaker if it does not exist.
-- The TTL starts when the script runs, which is never after the write deadline; the transitions are
-- appended to the breaker's audit outbox in the same step.
-- KEYS
--   KEYS[1] breaker state hash (BreakerKeys.state)
--   KEYS[2] the breaker's audit outbox stream (BreakerKeys.audit)
-- ARGV
--   ARGV[1] now override in epoch ms, '' in production (time then comes from Redis TIME; tests pass a virtual clock)
--   ARGV[2] pub/sub channel for transitions (BreakerKeys.transitionsChannel())
--   ARGV[3] scope: global | vendor | agent | user | action
--   ARGV[4] scope id
--   ARGV[5] actor, ARGV[6] reason (note), ARGV[7] ttlMs (>= 1)
--   ARGV[8] write deadline in epoch ms: past it (Redis TIME, or ARGV[1]) the script refuses (-4)
-- Returns
--   a JSON object {outcome, state, until, retryAfterMs, actor, note, reason, transitions[], outbox[]} (see
--   src/results.ts OpResult; transitions as in src/transition.ts; outbox: the audit stream's entry ids
--   of the transitions, in order), or an error code:
--   -1 the stored hash has another protocol version, or a state v1 does not know (nothing is changed)
--   -2 an argument is invalid: scope, id, KEYS not this breaker's, or the script's own arguments
--   -4 the write deadline has passed: nothing is changed (the caller has reported the write abandoned)
-- Outcomes: forced

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
-- >>> includes/override
-- What the operator overrides (forceOpenBreaker, forceCloseBreaker, resetBreaker) share: the write
-- deadline and the audit outbox.
--   KEYS[2] the breaker's audit outbox stream (BreakerKeys.audit: <prefix>:brk:{<scope>:<id>}:audit),
--           in the breaker's hash tag, so the record is written in the same atomic step as the change.
-- checkDeadline(arg): the write deadline (epoch ms, Redis time) in ARGV[arg]: -2 when it is not a number,
--   -4 when `now` is past it: the caller has given up (an ioredis offline queue sent the command on
--   reconnect, or Redis was paused), so nothing is changed and nothing is recorded.
-- finishAudited(outcome): finish(), after appending every transition of the run to the outbox (field
--   `transition`, the JSON as published), and the result with `"outbox":[entry ids]` in transition order:
--   the caller publishes each to Kafka and deletes it; a running monitor relays what is left.
-- (finish is included above)

local auditKey = KEYS[2]
local auditSuffix = ':brk:{' .. scope .. ':' .. id .. '}:audit'
if auditKey == nil or #auditKey <= #auditSuffix or string.sub(auditKey, -#auditSuffix) ~= auditSuffix then return -2 end

local function checkDeadline(arg)
  local deadline = tonumber(ARGV[arg])
  if not deadline then return -2 end
  if now > deadline then return -4 end
  return nil
end

local function finishAudited(outcome)
  local ids = {}
  for _, t in ipairs(transitions) do ids[#ids + 1] = redis.call('XADD', auditKey, '*', 'transition', t) end
  local res = finish(outcome)
  local list = '[]'
  if #ids > 0 then list = cjson.encode(ids) end
  return string.sub(res, 1, -2) .. ',"outbox":' .. list .. '}'
end
-- <<< includes/override

local ttl = tonumber(ARGV[7])
if ARGV[5] == '' or ARGV[6] == '' or not ttl or ttl < 1 then return -2 end
local late = checkDeadline(8)
if late then return late end
normalize()
clearStatus()
b.since = fmt(now); b['until'] = fmt(now + ttl); b.actor = ARGV[5]; b.note = ARGV[6]
move('forced_closed', 'force_close', now, nil, ARGV[5], ARGV[6])
return finishAudited('forced')
