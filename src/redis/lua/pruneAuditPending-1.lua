-- pruneAuditPending: drops a breaker from the audit-pending set once the relay found its outbox empty
-- with its last write deadline past, unless an override raised the score meanwhile (its record may be
-- on the way: the override adds the member, with ZADD GT, before or with the script that appends).
-- KEYS
--   KEYS[1] the audit-pending sorted set (KeyBuilder.breakerAuditPending)
-- ARGV
--   ARGV[1] the member (<scope>:<id>)   ARGV[2] the score the relay read
-- Returns
--   1 removed, 0 kept (the score changed, or the member is gone)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
