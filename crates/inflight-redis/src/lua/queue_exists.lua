-- The queue's id, if there is a queue (for the readers of results and dead letters).
-- KEYS: 1 meta, 2 deleted. ARGV: 1 the queue id the caller knows ('' if none).
local id, gone = queue_id(KEYS[1], KEYS[2], ARGV[1])
if not id then return redis.error_reply(gone) end
return id
