-- finishMail: an e-mail job was accepted by SMTP: mark it sent (with its Message-ID), drop the send
-- lease, and acknowledge and delete the outbox entry. A crash just before this script is the one window
-- in which the e-mail can go out twice (SMTP cannot be rolled back); receivers can drop the copy by its
-- Message-ID, which is the same on every attempt.
-- KEYS
--   KEYS[1] the sent marker, KEYS[2] the send lease, KEYS[3] the outbox stream
-- ARGV
--   ARGV[1] the consumer group   ARGV[2] the outbox entry id   ARGV[3] seconds the marker is kept
--   ARGV[4] the Message-ID
-- Returns
--   1

redis.call('SET', KEYS[1], ARGV[4], 'EX', tonumber(ARGV[3]))
redis.call('DEL', KEYS[2])
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[3], ARGV[2])
return 1
