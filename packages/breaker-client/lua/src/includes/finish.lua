-- finish(): saves the hash if it changed, publishes the transitions, returns the result as JSON.
--- @include "load"

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
