-- ackOutbox: acknowledges and deletes outbox entries that are done (an alert pushed, a job that needs
-- nothing more), so the stream holds only work still to do and its length is the outbox depth.
-- KEYS
--   KEYS[1] the outbox stream (KeyBuilder.notifyOutbox)
-- ARGV
--   ARGV[1] the consumer group   ARGV[2..] entry ids
-- Returns
--   the number of entries deleted

local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
return redis.call('XDEL', KEYS[1], unpack(ids))
