-- The script's time, `now`, in epoch ms: ARGV[1] when it is given (a test's virtual clock), else Redis
-- TIME ('' in production; ScriptStore.now() in src/redis/script-store.ts is the TypeScript side).
-- Every monitor script that reads the clock takes the override as ARGV[1].
local now
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
