-- savePartition: saves one input partition's event-time record, the events it holds and the changes
-- to its resident detector state (the slices of partition-local detectors, which only this partition
-- feeds), if nobody changed the record since it was loaded (two instances may run one partition for a
-- moment during a rebalance: the record's version fences the resident state too, since both are only
-- ever written here, together). Keys share the hash tag {ds:wm}.
-- KEYS
--   KEYS[1] the watermarks hash (KeyBuilder.detectorWatermarks): field <topic>/<partition>, value
--           "<watermark>|<at>|<newest>|<stream>|<version>": its watermark (ms), the Redis time (ms) it
--           last accepted events, the newest event time it accepted, the stream's newest as it last
--           read it, and the record's version; field ~settled:<topic>, the watermark up to which the
--           topic's decisions were settled (ms)
--   KEYS[2] the partition's held events (KeyBuilder.detectorHeld): a JSON string, absent when none
--   KEYS[3] the partition's resident state (KeyBuilder.detectorResident): a hash, field <kind>:<key>,
--           value the slice's JSON; fields starting with ~ are the state's own marks (the highest Kafka
--           offset it holds, …), written by the caller like any field
-- ARGV
--   ARGV[1] the field, <topic>/<partition>
--   ARGV[2] expected version: the one loaded, 0 when there was no record
--   ARGV[3] watermark candidate (integer ms), '' for none: the larger of it and the stored one is kept
--   ARGV[4] newest accepted event time (integer ms), '' for none: the larger is kept
--   ARGV[5] the stream's newest event time as read (integer ms), '' for none: the larger is kept
--   ARGV[6] '1' when this batch accepted events: the record is stamped with Redis's clock (active)
--   ARGV[7] held events JSON; '' deletes the key; '~keep' leaves it as it is
--   ARGV[8] the settled field, ~settled:<topic>
--   ARGV[9] the watermark this batch settled up to (integer ms), '' for none: the larger is kept
--   ARGV[10] TTL of the resident state hash (ms), '' to leave it: an abandoned partition's state goes
--   ARGV[11] n, the number of fields to set; ARGV[12 .. 11+2n] field, value pairs; the ARGV after them:
--           fields to delete (slices expired or settled)
-- Returns
--   the new version (>= 1), or -1 when the stored version is not ARGV[2] (conflict: the batch fails
--   and is retried)

--- @include "includes/chunks"

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('HGET', KEYS[1], ARGV[1])
local f = {}
if stored then
  for part in string.gmatch(stored .. '|', '([^|]*)|') do f[#f + 1] = part end
end
local version = tonumber(f[5] or '0') or 0
if version ~= tonumber(ARGV[2]) then
  return -1
end
local function larger(old, new)
  if new == '' then return old or '' end
  if old == nil or old == '' or tonumber(old) < tonumber(new) then return new end
  return old
end
local wm = larger(f[1], ARGV[3])
local newest = larger(f[3], ARGV[4])
local stream = larger(f[4], ARGV[5])
local at = f[2] or ''
if ARGV[6] == '1' then at = string.format('%d', now) end
version = version + 1
redis.call('HSET', KEYS[1], ARGV[1], wm .. '|' .. at .. '|' .. newest .. '|' .. stream .. '|' .. version)
if ARGV[7] == '' then
  redis.call('DEL', KEYS[2])
elseif ARGV[7] ~= '~keep' then
  redis.call('SET', KEYS[2], ARGV[7])
end
local n = tonumber(ARGV[11] or '0') or 0
inChunks('HSET', KEYS[3], 12, 11 + 2 * n, 2)
inChunks('HDEL', KEYS[3], 12 + 2 * n, #ARGV, 1)
if ARGV[10] ~= nil and ARGV[10] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('PEXPIRE', KEYS[3], ARGV[10])
end
local settled = larger(redis.call('HGET', KEYS[1], ARGV[8]) or nil, ARGV[9])
if settled ~= '' then redis.call('HSET', KEYS[1], ARGV[8], settled) end
return version
