-- Gives back at once every input a worker holds (a worker that stops and runs nothing any
-- more): each is listed in `returned`, which every take serves first, and made idle past the
-- lease, so that a claim scan finds it too. Its delivery does not count against
-- max_deliveries. Catches what no QueueItem stands for in the worker: inputs of a read whose
-- reply never arrived, and inputs buffered by a read batch.
-- KEYS: 1 inputs, 2 returned (list), 3 events (stream: wakes the workers blocked on it). ARGV: 1 group, 2 consumer, 3 idle_ms.
-- Returns how many inputs were given back.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = 0
local start = '-'
while true do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 1000, ARGV[2])
  for _, e in ipairs(p) do
    -- entries given back already (idle past the lease) are left as they are: no double listing
    if tonumber(e[3]) < tonumber(ARGV[3]) then
      local keep = math.max(tonumber(e[4]) - 1, 0)
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, e[1], 'IDLE', ARGV[3],
        'RETRYCOUNT', keep, 'JUSTID')
      redis.call('RPUSH', KEYS[2], e[1])
      n = n + 1
    end
  end
  if #p < 1000 then break end
  start = '(' .. p[#p][1]
end
if n > 0 then redis.call('XADD', KEYS[3], 'MAXLEN', '16', '*', 'returned', '1') end
return n
