-- Shared by the concurrency-limit scripts; prepended to each.
-- KEYS: 1 holders (zset token -> lease end, ms), 2 queue (zset token -> arrival number),
--       3 alive (zset token -> when the waiter must have asked again), 4 seq (arrival counter),
--       5 limit (string, the live override), 6 epoch (string), 7 grace (string with a TTL),
--       8 declared (string: the limit the last process to start acquiring was made with,
--       shown by the dashboard while none is stored).
-- Time is Redis's own (TIME), in milliseconds; never a client's clock.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function current_limit(default)
  local stored = redis.call('GET', KEYS[5])
  if stored then return tonumber(stored) end
  return tonumber(default)
end

-- The family's epoch: a random id that lives as long as Redis keeps its data. A caller that
-- knew an epoch and finds none has seen the data lost (a restart without persistence): no
-- place is granted for one grace period, so that the holders re-register theirs first.
local function epoch_of(known, candidate, grace_ms)
  local current = redis.call('GET', KEYS[6])
  if current then return current end
  redis.call('SET', KEYS[6], candidate)
  if known ~= '' then
    redis.call('SET', KEYS[7], '1', 'PX', grace_ms)
  end
  return candidate
end

-- Drops the holders whose lease ran out and the waiters that stopped asking.
local function purge(now)
  local expired = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  for _, token in ipairs(gone) do redis.call('ZREM', KEYS[2], token) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
  return expired > 0 or #gone > 0
end

-- Free places: none during a grace period.
local function free_places(limit)
  if redis.call('EXISTS', KEYS[7]) == 1 then return 0 end
  return limit - redis.call('ZCARD', KEYS[1])
end

-- Wakes the waiters at ranks from..free-1 (the ones the free places would serve) through
-- their client's wake list (a token is "client:n"); a client blocks on its list with BLPOP
-- instead of polling. `from` is 0 after anything that moves waiters up the queue; a release
-- passes the rank of the one place it opened, since the waiters ahead were woken already.
local function wake_from(from, limit, wake_prefix, ttl_ms)
  local free = free_places(limit)
  if free <= from then return end
  local first = redis.call('ZRANGE', KEYS[2], from, free - 1)
  for _, token in ipairs(first) do
    local client = string.match(token, '^([^:]+):')
    if client then
      local list = wake_prefix .. client
      redis.call('RPUSH', list, token)
      redis.call('PEXPIRE', list, ttl_ms)
    end
  end
end

local function wake(limit, wake_prefix, ttl_ms)
  wake_from(0, limit, wake_prefix, ttl_ms)
end

-- An idle key's state goes at once; a busy one's lives `idle_ms` past its last use, so
-- that a limit whose every process died leaves nothing behind.
local function tidy(idle_ms)
  if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  else
    for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], idle_ms) end
  end
end
