-- Records an input's result and acknowledges it, in one step: a result and its ack never part.
-- The done bit of the input's position makes the result exactly once: a second finisher (the
-- input ran twice, its first worker having stalled past its lease) only acknowledges.
-- KEYS: 1 inputs, 2 meta, 3 done (bitmap), 4 results (stream), 5 workers (hash), 6 deleted.
-- ARGV: 1 group, 2 consumer, 3 entry id, 4 pos, 5 ok '1'/'0', 6 record (JSON), 7 input,
--       8 the queue id the worker knows.
-- Returns 1 if this result was recorded, 0 if the input had one already.
local id, gone = queue_id(KEYS[2], KEYS[6], ARGV[8])
if not id then return redis.error_reply(gone) end
redis.call('HSET', KEYS[5], ARGV[2], now_ms())
local first = redis.call('SETBIT', KEYS[3], ARGV[4], 1) == 0
if first then
  redis.call('XADD', KEYS[4], '*', 'pos', ARGV[4], 'input', ARGV[7], 'worker', ARGV[2],
    'ok', ARGV[5], 'record', ARGV[6])
  if ARGV[5] == '1' then
    redis.call('HINCRBY', KEYS[2], 'done', 1)
  else
    redis.call('HINCRBY', KEYS[2], 'failed', 1)
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if first then return 1 end
return 0
