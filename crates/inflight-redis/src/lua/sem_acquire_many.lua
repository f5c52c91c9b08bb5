-- Takes places for several tokens of one process in one step (several of its jobs waiting at
-- once), each exactly as sem_acquire.lua would, in the order given (their arrival order in
-- this process): a token is granted only when every waiter ahead of it could be granted too,
-- so the batch never takes more than the free places and no one jumps the queue.
-- ARGV: 1 lease_ms, 2 default limit, 3 known epoch ('' if none), 4 epoch candidate,
--       5 grace_ms, 6 wake list prefix, 7 alive_ms, 8 wake list TTL ms, 9 idle_ms,
--       10 the process's own limit on its first acquire (stored as the declared limit) or '',
--       then pairs: token, '1' to queue when not granted or '0' to only try.
-- Returns {epoch, now_ms, {granted 0/1 per token}}.
local now = now_ms()
local epoch = epoch_of(ARGV[3], ARGV[4], tonumber(ARGV[5]))
if ARGV[10] ~= '' then redis.call('SET', KEYS[8], ARGV[10]) end
local limit = current_limit(ARGV[2])
if purge(now) then wake(limit, ARGV[6], tonumber(ARGV[8])) end
local lease_end = now + tonumber(ARGV[1])
local granted = {}
for i = 11, #ARGV, 2 do
  local token, wait = ARGV[i], ARGV[i + 1]
  local g = 0
  if redis.call('ZSCORE', KEYS[1], token) then
    -- a retry after a lost reply finds its place already granted
    redis.call('ZADD', KEYS[1], lease_end, token)
    g = 1
  else
    local queued = redis.call('ZSCORE', KEYS[2], token)
    local ahead
    if queued then ahead = redis.call('ZRANK', KEYS[2], token) else ahead = redis.call('ZCARD', KEYS[2]) end
    if ahead < free_places(limit) then
      if queued then
        redis.call('ZREM', KEYS[2], token)
        redis.call('ZREM', KEYS[3], token)
      end
      redis.call('ZADD', KEYS[1], lease_end, token)
      g = 1
    elseif wait == '1' then
      if not queued then redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), token) end
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[7]), token)
    end
  end
  granted[#granted + 1] = g
end
tidy(tonumber(ARGV[9]))
return {epoch, now, granted}
