-- Closes a queue (no more inputs will come), if there is one: never makes it.
-- An entry on `events` wakes the idle workers, so that they stop at once if every input is done.
-- KEYS: 1 meta, 2 deleted, 3 events, 4 inputs. ARGV: 1 the queue id the caller knows ('' if
-- none), 2 the group.
local id, gone = queue_id(KEYS[1], KEYS[2], ARGV[1])
if not id then return redis.error_reply(gone) end
redis.call('HSET', KEYS[1], 'closed', 1)
-- Already finished (the last input settled before the close): nothing stays in the stream.
if unsettled(KEYS[1]) <= 0 then trim_settled(KEYS[1], KEYS[4], ARGV[2], nil, true) end
redis.call('XADD', KEYS[3], 'MAXLEN', '16', '*', 'closed', '1')
return 1
