-- inChunks(cmd, key, from, to, width): runs `cmd key ARGV[from..to]` in calls of at most 1000 items of
-- `width` arguments each (HSET: 2, field and value; HDEL: 1), since unpack() of a very long list
-- overflows Lua's stack (a 5,000-bucket window's fields did: test/detection/slice-parts.test.ts).
local function inChunks(cmd, key, from, to, width)
  local i = from
  while i <= to do
    local j = math.min(to, i + 1000 * width - 1)
    redis.call(cmd, key, unpack(ARGV, i, j))
    i = j + 1
  end
end
