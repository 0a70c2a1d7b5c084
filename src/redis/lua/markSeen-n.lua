-- markSeen: marks eventIds as handed on by the ingest dedupe, each marker with the dedupe TTL.
-- On Redis Cluster, one call per hash-tag bucket: every key shares the bucket's tag {seen:<b>}, so the
-- call touches one slot. On a single node, one call for a whole batch (any buckets). The number of keys
-- varies (file suffix -n): the caller passes it first.
-- KEYS
--   KEYS[1..n] seen markers (KeyBuilder.seenEvent): of one bucket on Cluster, n >= 1
-- ARGV
--   ARGV[1] TTL in seconds (>= 1): how long the eventIds are remembered
-- Returns
--   n, the number of markers set (each SET ... EX replaces an older marker and its TTL)

local ttl = ARGV[1]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], '1', 'EX', ttl)
end
return #KEYS
