-- Gives back the place of ARGV[1] (or withdraws it from the queue) and wakes the next waiters.
-- Only that token's own entry is touched: no one can free a place held under another token.
-- ARGV: 1 token, 2 default limit, 3 wake list prefix, 4 wake list TTL ms, 5 idle_ms.
-- Returns 1 if a live place was given back, 0 otherwise (expired, released already, unknown).
local token = ARGV[1]
local now = now_ms()
local score = redis.call('ZSCORE', KEYS[1], token)
local released = 0
if score and tonumber(score) > now then released = 1 end
redis.call('ZREM', KEYS[1], token)
local withdrawn = redis.call('ZREM', KEYS[2], token)
redis.call('ZREM', KEYS[3], token)
local limit = current_limit(ARGV[2])
local moved = purge(now) or withdrawn == 1
if moved then
  wake(limit, ARGV[3], tonumber(ARGV[4]))
elseif released == 1 then
  -- one place opened: wake the one waiter it serves
  wake_from(free_places(limit) - 1, limit, ARGV[3], tonumber(ARGV[4]))
end
tidy(tonumber(ARGV[5]))
return released
