-- Gives an input back at once (a worker stopping without running it): listed in `returned`,
-- which every take serves first, and made idle past the lease, so that a take's claim scan
-- finds it too should the list be lost. It waits under the GIVEN_BACK consumer, not the
-- worker's, so that it counts as waiting, not in flight. Its delivery does not count against
-- max_deliveries.
-- KEYS: 1 inputs, 2 returned (list), 3 meta, 4 deleted, 5 events (stream: wakes the workers
--       blocked on it). ARGV: 1 group, 2 consumer, 3 entry id,
--       4 idle_ms, 5 deliveries to keep, 6 the queue id the worker knows, 7 GIVEN_BACK.
local id, gone = queue_id(KEYS[3], KEYS[4], ARGV[6])
if not id then return redis.error_reply(gone) end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 1 and p[1][2] == ARGV[2] then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[7], 0, ARGV[3], 'IDLE', ARGV[4],
    'RETRYCOUNT', ARGV[5], 'JUSTID')
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('XADD', KEYS[5], 'MAXLEN', '16', '*', 'returned', '1')
  return 1
end
return 0
