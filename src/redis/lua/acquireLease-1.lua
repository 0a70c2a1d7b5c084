-- acquireLease: takes or renews a lease that makes one instance the only one doing a job (the
-- compensation relay). The holder renews it well before it expires; another instance takes it only
-- once it has expired (the holder died or lost Redis for that long).
-- KEYS
--   KEYS[1] the lease key (e.g. KeyBuilder.compensationRelayLease)
-- ARGV
--   ARGV[1] the caller's token (unique per process)
--   ARGV[2] the lease duration in ms
-- Returns
--   2 acquired now (it was free), 1 renewed (the caller held it), 0 another holder has it

local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 2
