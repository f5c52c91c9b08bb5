-- Gives back the places of several tokens of one process in one step (or withdraws them from
-- the queue), each as sem_release.lua would, and wakes the waiters the opened places serve.
-- Only those tokens' own entries are touched.
-- ARGV: 1 default limit, 2 wake list prefix, 3 wake list TTL ms, 4 idle_ms, 5.. tokens.
-- Returns {1 if a live place was given back, else 0, per token}.
local now = now_ms()
local out = {}
local released, withdrawn = 0, false
for i = 5, #ARGV do
  local token = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], token)
  local r = 0
  if score and tonumber(score) > now then r = 1 end
  redis.call('ZREM', KEYS[1], token)
  if redis.call('ZREM', KEYS[2], token) == 1 then withdrawn = true end
  redis.call('ZREM', KEYS[3], token)
  released = released + r
  out[#out + 1] = r
end
local limit = current_limit(ARGV[1])
if purge(now) or withdrawn then
  wake(limit, ARGV[2], tonumber(ARGV[3]))
elseif released > 0 then
  -- `released` places opened: wake the waiters they serve
  wake_from(math.max(free_places(limit) - released, 0), limit, ARGV[2], tonumber(ARGV[3]))
end
tidy(tonumber(ARGV[4]))
return out
