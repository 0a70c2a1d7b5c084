-- State changes: clearStatus() drops the fields of one state, move() records a transition (and its
-- deterministic id), normalize() turns an expired forced override into closed.
--- @include "load"

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
