-- releaseLease: gives a lease up on a clean stop, so another instance can take the job at once.
-- KEYS
--   KEYS[1] the lease key
-- ARGV
--   ARGV[1] the caller's token
-- Returns
--   1 released, 0 the caller did not hold it (nothing changed)

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
