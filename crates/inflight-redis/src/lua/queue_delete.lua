-- Deletes every key of a queue, if there is one, and leaves its id in `deleted` for an hour,
-- so that its workers tell a delete from a data loss.
-- KEYS: 1 meta, 2 deleted, 3 workers, 4 owners, then every other key of the queue.
-- ARGV: 1 the lease of a worker whose own is not known (ms), 2 how long `deleted` stays (ms).
-- Returns the names of the live workers (heartbeat within their lease) it had.
local id, gone = queue_id(KEYS[1], KEYS[2], '')
if not id then return redis.error_reply(gone) end
local now = now_ms()
local live = {}
local beats = redis.call('HGETALL', KEYS[3])
for i = 1, #beats, 2 do
  local owner = redis.call('HGET', KEYS[4], beats[i])
  local lease = tonumber(string.match(owner or '', ' (%d+)$') or ARGV[1])
  if now - tonumber(beats[i + 1]) <= lease then table.insert(live, beats[i]) end
end
for i = 1, #KEYS do
  if i ~= 2 then redis.call('DEL', KEYS[i]) end
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[2])
return live
