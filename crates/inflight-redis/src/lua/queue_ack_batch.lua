-- Records the results of a batch of finished inputs and acknowledges them, in one step: a
-- result and its ack never part. The done bit of each input's position makes its result
-- exactly once: a second finisher (the input ran twice, its first worker having stalled past
-- its lease) only acknowledges. Counters, the heartbeat and the trimming of settled inputs
-- off the stream's front (see trim_settled) are done once per batch. When
-- the batch finishes a closed queue, an entry on `events` wakes the workers blocked on it.
-- A queue deleted or lost refuses the whole batch before any write.
-- The worker's own tally (results it recorded) and, for a failure, a copy in the capped
-- failures stream are what a dashboard reads, without scanning every result.
-- KEYS: 1 inputs, 2 meta, 3 done (bitmap), 4 results (stream), 5 workers (hash), 6 events,
--       7 deleted, 8 tally (hash), 9 failures (stream).
-- ARGV: 1 group, 2 consumer, 3 the queue id the worker knows, 4 how many failures to keep, then
--       5 per input: entry id, pos, ok '1'/'0', record (JSON), input.
-- Returns {1 if this input's result was recorded, 0 if it had one already, ...}.
local qid, gone = queue_id(KEYS[2], KEYS[7], ARGV[3])
if not qid then return redis.error_reply(gone) end
redis.call('HSET', KEYS[5], ARGV[2], now_ms())
local recorded, ids = {}, {}
local done, failed = 0, 0
for i = 5, #ARGV, 5 do
  local pos, ok = ARGV[i + 1], ARGV[i + 2]
  if redis.call('SETBIT', KEYS[3], pos, 1) == 0 then
    redis.call('XADD', KEYS[4], '*', 'pos', pos, 'input', ARGV[i + 4], 'worker', ARGV[2],
      'ok', ok, 'record', ARGV[i + 3])
    if ok == '1' then
      done = done + 1
    else
      failed = failed + 1
      redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[4], '*', 'pos', pos, 'input', ARGV[i + 4],
        'worker', ARGV[2], 'record', ARGV[i + 3])
    end
    recorded[#recorded + 1] = 1
  else
    recorded[#recorded + 1] = 0
  end
  ids[#ids + 1] = ARGV[i]
end
if done > 0 then
  redis.call('HINCRBY', KEYS[2], 'done', done)
  redis.call('HINCRBY', KEYS[8], 'done:' .. ARGV[2], done)
end
if failed > 0 then
  redis.call('HINCRBY', KEYS[2], 'failed', failed)
  redis.call('HINCRBY', KEYS[8], 'failed:' .. ARGV[2], failed)
end
if #ids > 0 then
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
end
local finished = redis.call('HGET', KEYS[2], 'closed') == '1' and unsettled(KEYS[2]) <= 0
trim_settled(KEYS[2], KEYS[1], ARGV[1], ids, finished)
if finished then
  redis.call('XADD', KEYS[6], 'MAXLEN', '16', '*', 'finished', '1')
end
return recorded
