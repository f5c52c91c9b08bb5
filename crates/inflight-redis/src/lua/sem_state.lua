-- Reads a key's state without changing it. ARGV: 1 default limit.
-- Returns {limit, live holders, waiters, grace 0/1}.
local now = now_ms()
local limit = current_limit(ARGV[1])
local held = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local waiting = redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf')
return {limit, held, waiting, redis.call('EXISTS', KEYS[7])}
