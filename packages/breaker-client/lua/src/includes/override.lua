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
--- @include "finish"

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
