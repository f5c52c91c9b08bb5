-- GCRA on one key, with reservation: the caller gets a start time at most `horizon` ahead and
-- sleeps until it, so one round trip serves one start and callers are served in order.
-- KEYS: 1 tat (the next start's due time, µs), 2 conf (hash: interval_us, burst: the live rate).
-- ARGV: 1 default interval_us, 2 default burst, 3 horizon_us.
-- Returns {reserved 0/1, wait_us, start_us}: reserved: start at start_us, wait_us from now;
-- not reserved: ask again in wait_us.
-- The starts handed out are those of the plain GCRA for arrivals at those times, so at most
-- burst + t / interval of them fall in any window of length t (the local Rate's promise).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(redis.call('HGET', KEYS[2], 'interval_us') or ARGV[1])
local burst = tonumber(redis.call('HGET', KEYS[2], 'burst') or ARGV[2])
local horizon = tonumber(ARGV[3])
local tolerance = interval * (burst - 1)
local stored = redis.call('GET', KEYS[1])
local due = now
if stored then due = tonumber(stored) end
local start = math.max(now, due - tolerance)
if start - now > horizon then
  return {0, start - now - horizon, start}
end
local next_due = math.max(due, start) + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_due),
  'PX', math.floor((next_due - now) / 1000) + 1000)
return {1, start - now, start}
