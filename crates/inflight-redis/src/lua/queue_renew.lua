-- Renews the leases of a worker's inputs (resets their idle time) and its heartbeat, in one
-- XPENDING scan of this worker's own entries and one XCLAIM: the cost is per worker, not per
-- input. Only inputs that this worker still owns are touched: never one another worker claimed.
-- KEYS: 1 inputs, 2 workers (hash), 3 meta, 4 deleted.
-- ARGV: 1 group, 2 consumer, 3 the queue id the worker knows, 4.. entry ids.
-- Returns the ids this worker no longer owns.
local id, gone = queue_id(KEYS[3], KEYS[4], ARGV[3])
if not id then return redis.error_reply(gone) end
redis.call('HSET', KEYS[2], ARGV[2], now_ms())
local owned = {}
if redis.call('EXISTS', KEYS[1]) == 1 then
  local start = '-'
  while true do
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 1000, ARGV[2])
    for _, e in ipairs(p) do owned[e[1]] = true end
    if #p < 1000 then break end
    start = '(' .. p[#p][1]
  end
end
local lost, mine = {}, {}
for i = 4, #ARGV do
  if owned[ARGV[i]] then mine[#mine + 1] = ARGV[i] else lost[#lost + 1] = ARGV[i] end
end
-- JUSTID: resets the idle time without counting a delivery; in chunks, for Lua's stack
for i = 1, #mine, 1000 do
  local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0}
  for j = i, math.min(i + 999, #mine) do args[#args + 1] = mine[j] end
  args[#args + 1] = 'JUSTID'
  redis.call(unpack(args))
end
return lost
