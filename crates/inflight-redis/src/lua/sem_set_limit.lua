-- Sets (ARGV[1] a number) or clears (ARGV[1] '') the live limit, then wakes the waiters that a
-- raise lets in. ARGV: 1 limit or '', 2 default limit, 3 wake list prefix, 4 wake list TTL ms.
if ARGV[1] == '' then
  redis.call('DEL', KEYS[5])
else
  redis.call('SET', KEYS[5], ARGV[1])
end
local now = now_ms()
local limit = current_limit(ARGV[2])
purge(now)
wake(limit, ARGV[3], tonumber(ARGV[4]))
return limit
