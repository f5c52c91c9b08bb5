-- Gives back at once every input a worker holds (a worker that stops and runs nothing any
-- more), as queue_give_back does for one; then, if the caller's handle owns the worker's name,
-- the worker leaves the status and its name is free. Catches what no QueueItem stands for in
-- the worker: inputs of a read whose reply never arrived, and inputs buffered by a read batch.
-- A queue that is gone is left gone, and a live worker of another handle (its heartbeat within
-- its lease) is left alone: nothing to give back.
-- KEYS: 1 inputs, 2 returned (list), 3 meta, 4 deleted, 5 workers, 6 owners, 7 events (stream:
--       wakes the workers blocked on it).
-- ARGV: 1 group, 2 consumer, 3 idle_ms, 4 the queue id the caller knows, 5 GIVEN_BACK,
--       6 the caller's token.
-- Returns how many inputs were given back.
if not queue_id(KEYS[3], KEYS[4], ARGV[4]) then return 0 end
local owner = redis.call('HGET', KEYS[6], ARGV[2])
local token, lease = string.match(owner or '', '^(%S+) (%d+)$')
if token and token ~= ARGV[6] then
  local seen = tonumber(redis.call('HGET', KEYS[5], ARGV[2]) or '0')
  if seen + tonumber(lease) > now_ms() then return 0 end
end
local n = 0
local start = '-'
while true do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 1000, ARGV[2])
  for _, e in ipairs(p) do
    local keep = math.max(tonumber(e[4]) - 1, 0)
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[5], 0, e[1], 'IDLE', ARGV[3],
      'RETRYCOUNT', keep, 'JUSTID')
    redis.call('RPUSH', KEYS[2], e[1])
    n = n + 1
  end
  if #p < 1000 then break end
  start = '(' .. p[#p][1]
end
if token == ARGV[6] then
  redis.call('HDEL', KEYS[6], ARGV[2])
  redis.call('HDEL', KEYS[5], ARGV[2])
end
if n > 0 then redis.call('XADD', KEYS[7], 'MAXLEN', '16', '*', 'returned', '1') end
return n
