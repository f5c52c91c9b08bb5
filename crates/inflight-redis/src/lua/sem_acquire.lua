-- Takes a place for ARGV[1] (token) if its turn has come, else queues it (FIFO).
-- ARGV: 1 token, 2 lease_ms, 3 default limit, 4 known epoch ('' if none), 5 epoch candidate,
--       6 grace_ms, 7 wake list prefix, 8 alive_ms, 9 wake list TTL ms, 10 idle_ms,
--       11 '1' to queue when not granted, '0' to only try, 12 the process's own limit on its
--       first acquire (stored as the declared limit), else ''.
-- Returns {granted 0/1, epoch, now_ms, waiters ahead}.
local token = ARGV[1]
local now = now_ms()
local epoch = epoch_of(ARGV[4], ARGV[5], tonumber(ARGV[6]))
if ARGV[12] and ARGV[12] ~= '' then redis.call('SET', KEYS[8], ARGV[12]) end
local limit = current_limit(ARGV[3])
if purge(now) then wake(limit, ARGV[7], tonumber(ARGV[9])) end
local lease_end = now + tonumber(ARGV[2])

-- A retry after a lost reply finds its place already granted.
if redis.call('ZSCORE', KEYS[1], token) then
  redis.call('ZADD', KEYS[1], lease_end, token)
  tidy(tonumber(ARGV[10]))
  return {1, epoch, now, 0}
end

local queued = redis.call('ZSCORE', KEYS[2], token)
local ahead
if queued then ahead = redis.call('ZRANK', KEYS[2], token) else ahead = redis.call('ZCARD', KEYS[2]) end
-- Granted only when every waiter ahead could be granted too: no one jumps the queue.
if ahead < free_places(limit) then
  if queued then
    redis.call('ZREM', KEYS[2], token)
    redis.call('ZREM', KEYS[3], token)
  end
  redis.call('ZADD', KEYS[1], lease_end, token)
  tidy(tonumber(ARGV[10]))
  return {1, epoch, now, 0}
end
if ARGV[11] == '1' then
  if not queued then redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), token) end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[8]), token)
end
tidy(tonumber(ARGV[10]))
return {0, epoch, now, ahead}
