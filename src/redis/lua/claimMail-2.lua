-- claimMail: before an e-mail job is handed to SMTP, makes sure it was not sent already and that no
-- other sender is in the middle of it. The lease covers one SMTP attempt (timeouts included); a
-- sender that dies mid-send leaves it to expire, and the job is tried again (at least once).
-- KEYS
--   KEYS[1] the job's sent marker (KeyBuilder.notifySent)
--   KEYS[2] the job's send lease (KeyBuilder.notifySendLease)
-- ARGV
--   ARGV[1] the sender's token   ARGV[2] lease ms
-- Returns
--   'sent' (already sent: acknowledge it), 'busy' (another sender holds it), 'go' (the lease is the caller's)

if redis.call('EXISTS', KEYS[1]) == 1 then return 'sent' end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 'busy' end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 'go'
