-- Reads a queue's counters in one consistent step.
-- KEYS: 1 inputs, 2 meta, 3 workers. ARGV: 1 group.
-- Returns {now_ms, meta (flat hash), entries, pending, {consumer, count}..., workers (flat hash)}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pending, consumers = 0, {}
if redis.call('EXISTS', KEYS[1]) == 1 then
  local s = redis.call('XPENDING', KEYS[1], ARGV[1])
  pending = s[1]
  if s[4] then consumers = s[4] end
end
return {now, redis.call('HGETALL', KEYS[2]), redis.call('XLEN', KEYS[1]), pending, consumers,
  redis.call('HGETALL', KEYS[3])}
