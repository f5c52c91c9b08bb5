-- Renews the leases of a worker's inputs (resets their idle time) and its heartbeat. Only
-- inputs that this worker still owns are touched: never one another worker claimed.
-- KEYS: 1 inputs, 2 workers (hash), 3 meta, 4 deleted.
-- ARGV: 1 group, 2 consumer, 3 the queue id the worker knows, 4.. entry ids.
-- Returns the ids this worker no longer owns.
local id, gone = queue_id(KEYS[3], KEYS[4], ARGV[3])
if not id then return redis.error_reply(gone) end
redis.call('HSET', KEYS[2], ARGV[2], now_ms())
local lost = {}
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    -- JUSTID: resets the idle time without counting a delivery
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
