-- Records an input's result and acknowledges it, in one step: a result and its ack never part.
-- The done bit of the input's position makes the result exactly once: a second finisher (the
-- input ran twice, its first worker having stalled past its lease) only acknowledges.
-- The worker's own tally (results it recorded) and, for a failure, a copy in the capped
-- failures stream are what a dashboard reads, without scanning every result.
-- KEYS: 1 inputs, 2 meta, 3 done (bitmap), 4 results (stream), 5 workers (hash),
--       6 tally (hash), 7 failures (stream).
-- ARGV: 1 group, 2 consumer, 3 entry id, 4 pos, 5 ok '1'/'0', 6 record (JSON), 7 input,
--       8 how many failures to keep.
-- Returns 1 if this result was recorded, 0 if the input had one already.
local t = redis.call('TIME')
redis.call('HSET', KEYS[5], ARGV[2], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local first = redis.call('SETBIT', KEYS[3], ARGV[4], 1) == 0
if first then
  redis.call('XADD', KEYS[4], '*', 'pos', ARGV[4], 'input', ARGV[7], 'worker', ARGV[2],
    'ok', ARGV[5], 'record', ARGV[6])
  if ARGV[5] == '1' then
    redis.call('HINCRBY', KEYS[2], 'done', 1)
    redis.call('HINCRBY', KEYS[6], 'done:' .. ARGV[2], 1)
  else
    redis.call('HINCRBY', KEYS[2], 'failed', 1)
    redis.call('HINCRBY', KEYS[6], 'failed:' .. ARGV[2], 1)
    redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[8], '*', 'pos', ARGV[4], 'input', ARGV[7],
      'worker', ARGV[2], 'record', ARGV[6])
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if first then return 1 end
return 0
