-- Reads a queue's counters in one consistent step, and forgets the workers gone for long: no
-- heartbeat for `forget` of their leases, and nothing in their hands.
-- KEYS: 1 inputs, 2 meta, 3 workers, 4 owners, 5 deleted.
-- ARGV: 1 group, 2 the queue id the caller knows ('' if none), 3 the lease of a worker whose
--       own is not known (ms), 4 forget (leases).
-- Returns {now_ms, meta (flat hash), entries, pending, {consumer, count}...,
--          {name, last heartbeat, lease}...}.
local id, gone = queue_id(KEYS[2], KEYS[5], ARGV[2])
if not id then return redis.error_reply(gone) end
local now = now_ms()
local pending, consumers = 0, {}
if redis.call('EXISTS', KEYS[1]) == 1 then
  local s = redis.call('XPENDING', KEYS[1], ARGV[1])
  pending = s[1]
  if s[4] then consumers = s[4] end
end
local holding = {}
for _, c in ipairs(consumers) do holding[c[1]] = tonumber(c[2]) end
local workers = {}
local beats = redis.call('HGETALL', KEYS[3])
for i = 1, #beats, 2 do
  local name, seen = beats[i], tonumber(beats[i + 1])
  local owner = redis.call('HGET', KEYS[4], name)
  local lease = tonumber(string.match(owner or '', ' (%d+)$') or ARGV[3])
  if now - seen > lease * tonumber(ARGV[4]) and not holding[name] then
    redis.call('HDEL', KEYS[3], name)
    redis.call('HDEL', KEYS[4], name)
    if redis.call('EXISTS', KEYS[1]) == 1 then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    end
  else
    table.insert(workers, {name, seen, lease})
  end
end
-- The inputs not settled: pending, or never handed out (settled ones may wait in the stream
-- until they are trimmed off, so its length is not this).
return {now, redis.call('HGETALL', KEYS[2]), untaken(KEYS[2], KEYS[1], ARGV[1]) + pending, pending,
  consumers, workers}
