-- Renews the leases of a worker's inputs (resets their idle time) and its heartbeat. Only
-- inputs that this worker still owns are touched: never one another worker claimed.
-- KEYS: 1 inputs, 2 workers (hash). ARGV: 1 group, 2 consumer, 3.. entry ids.
-- Returns the ids this worker no longer owns.
local t = redis.call('TIME')
redis.call('HSET', KEYS[2], ARGV[2], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    -- JUSTID: resets the idle time without counting a delivery
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
