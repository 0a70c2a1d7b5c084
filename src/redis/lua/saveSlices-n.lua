-- saveSlices: saves (or deletes) the detector state slices of one bucket that a batch changed, each if
-- nobody changed it since it was loaded (an optimistic version check per slice), and files their
-- pending timers and the findings they made (unsent until published). One call per bucket and batch (not one per slice): every key shares the bucket's
-- hash tag {ds:<n>}, so the call touches one slot on Redis Cluster. The number of keys varies (file
-- suffix -n): the caller passes it first.
-- KEYS
--   KEYS[1]      the bucket's timer set (KeyBuilder.detectorTimers)
--   KEYS[2]      the bucket's version counter (KeyBuilder.detectorVersions): the call takes one value per
--                slice at once (one INCRBY), and a saved slice takes its value as its version, so a slice
--                deleted and created again never repeats a version that a holder of the old one (an
--                instance's cache) would still expect
--   KEYS[3]      the bucket's unsent findings (KeyBuilder.detectorUnsent): a hash findingId ->
--                '<Redis ms of the pass>|<finding JSON>', the findings of saved slices not yet published
--                (an outbox: filed in the same call as the state that made them, removed once
--                published, sent by any instance's tick when a pass left them behind)
--   KEYS[4]      the bucket's slices whose TTL is to be bounded later (KeyBuilder.detectorTtlPending):
--                member <kind>:<key>, score its expiry in event time; the set's own TTL is that of the
--                slices filed by the latest call (the longest TTL)
--   KEYS[5..]    the slice hashes (KeyBuilder.detectorSlice): fields v (version), s (state JSON; of a slice
--                stored in parts, its head), k (rule match key), m (batch marks JSON), and p:<field>:<i> the
--                parts (src/detection/slice-parts.ts: one bucket of the state's window each)
-- ARGV: per slice, in the order of its key, 11 arguments and then its parts' (the next slice's follow):
--   expected version: the v loaded, 0 when the slice did not exist (or was assumed not to)
--   state JSON (its head when stored in parts); '' deletes the slice (expired), parts and all
--   rule match key of the last event applied
--   batch marks JSON ({"<topic>/<partition>": {"a": first eventId, "z": last applied, "o": highest Kafka offset held, "f": [findings]}});
--   '' when the state is '' (a deleted slice keeps no marks)
--   TTL in ms (>= 1), from the slice's expiresAt
--   due event time in ms of its earliest pending decision; '' when none
--   timer member: <kind>:<key>
--   '0' when the slice has no member in the timer set (the caller knows: none to remove), else '1'
--   its expiry in event time when the TTL given is the longest because the watermark was not known
--   yet (a tick bounds it later: the member is added to KEYS[4]); '' otherwise
--   S: how many parts to set, D: how many to delete (both '0' for a slice stored whole)
--   then S pairs (part field, JSON) and D part fields: written only with the state (not on a conflict)
-- then, after the last slice's arguments, 3 per finding to file: the position of its slice (1 = KEYS[5]),
--   its findingId, and the value to file; filed only when that slice was saved or deleted (not on a
--   conflict: the re-run makes its findings again)
-- Returns
--   per slice: the new version (>= 1, larger than any the bucket gave before), 0 when deleted, or -1 when the stored version is not the
--   expected one (conflict: that slice is left alone; reload it and run its events again)

--- @include "includes/chunks"

local out = {}
-- the versions this call may hand out, taken from the counter at once: base + 1 .. base + (#KEYS - 4);
-- those a conflict or a delete leaves unused are skipped (versions need only never repeat)
local base = tonumber(redis.call('INCRBY', KEYS[2], #KEYS - 4)) - (#KEYS - 4)
local pendingTtl = 0 -- the longest TTL of the slices filed in KEYS[4] by this call
local a = 0 -- where the current slice's arguments start (they vary in number with its parts)
for i = 5, #KEYS do
  local key = KEYS[i]
  local nSet, nDel = tonumber(ARGV[a + 10]), tonumber(ARGV[a + 11])
  local partsAt = a + 11 -- its parts: ARGV[partsAt + 1 .. partsAt + 2 * nSet + nDel]
  local current = tonumber(redis.call('HGET', key, 'v') or '0')
  if current ~= tonumber(ARGV[a + 1]) then
    out[#out + 1] = -1
  elseif ARGV[a + 2] == '' then
    if current ~= 0 then redis.call('DEL', key) end
    if ARGV[a + 8] ~= '0' then redis.call('ZREM', KEYS[1], ARGV[a + 7]) end
    out[#out + 1] = 0
  else
    local version = base + i - 4
    if version <= current then
      -- the counter is behind a stored version (lost, or reset): move past it
      version = current + 1
      base = version - (i - 4)
      redis.call('SET', KEYS[2], base + #KEYS - 4)
    end
    redis.call('HSET', key, 'v', version, 's', ARGV[a + 2], 'k', ARGV[a + 3], 'm', ARGV[a + 4])
    inChunks('HSET', key, partsAt + 1, partsAt + 2 * nSet, 2)
    inChunks('HDEL', key, partsAt + 2 * nSet + 1, partsAt + 2 * nSet + nDel, 1)
    redis.call('PEXPIRE', key, ARGV[a + 5])
    if ARGV[a + 6] == '' then
      if ARGV[a + 8] ~= '0' then redis.call('ZREM', KEYS[1], ARGV[a + 7]) end
    else
      redis.call('ZADD', KEYS[1], ARGV[a + 6], ARGV[a + 7])
    end
    if ARGV[a + 9] ~= '' then
      redis.call('ZADD', KEYS[4], ARGV[a + 9], ARGV[a + 7])
      pendingTtl = math.max(pendingTtl, tonumber(ARGV[a + 5]))
    end
    out[#out + 1] = version
  end
  a = partsAt + 2 * nSet + nDel
end
-- the set lasts as long as the slices filed in it (each took the longest TTL, so the latest call's
-- is the longest): nothing is left behind if no tick ever bounds them
if pendingTtl > 0 then redis.call('PEXPIRE', KEYS[4], pendingTtl) end
for f = a + 1, #ARGV, 3 do
  if out[tonumber(ARGV[f])] ~= -1 then redis.call('HSET', KEYS[3], ARGV[f + 1], ARGV[f + 2]) end
end
return out
