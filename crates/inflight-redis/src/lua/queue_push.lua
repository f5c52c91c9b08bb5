-- Adds a batch of inputs at positions ARGV[3].. onwards, skipping those already pushed (a rerun
-- after a kill resends them) and stopping when the queue holds max_pending untaken inputs.
-- The first push makes the queue: its id.
-- KEYS: 1 inputs (stream), 2 meta (hash), 3 deleted.
-- ARGV: 1 group, 2 max_pending, 3 position of the first input, 4 the queue id the pusher
--       knows ('' if none), 5 a new id, should this push make the queue, 6.. the inputs.
-- Returns {inputs pushed in all, room left, the queue id}. Atomic: a kill mid-push leaves no
-- half batch.
local id, gone = queue_id(KEYS[2], KEYS[3], ARGV[4])
if not id then
  if ARGV[4] ~= '' then return redis.error_reply(gone) end
  id = ARGV[5]
  redis.call('HSET', KEYS[2], 'id', id, 'taken', 0)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
end
local pushed = tonumber(redis.call('HGET', KEYS[2], 'pushed') or '0')
local first = tonumber(ARGV[3])
local count = #ARGV - 5
if first > pushed then
  return redis.error_reply('ERR inflight: the queue holds ' .. pushed ..
    ' inputs, a push cannot start at input ' .. first)
end
local skip = pushed - first
if skip < count and redis.call('HGET', KEYS[2], 'closed') == '1' then
  return redis.error_reply('INFLIGHT-CLOSED the queue is closed')
end
local room = tonumber(ARGV[2]) - untaken(KEYS[2], KEYS[1], ARGV[1])
local i = skip
while i < count and room > 0 do
  redis.call('XADD', KEYS[1], '*', 'pos', string.format('%.0f', first + i), 'input', ARGV[6 + i])
  i = i + 1
  room = room - 1
end
if i > skip then
  redis.call('HSET', KEYS[2], 'pushed', string.format('%.0f', first + i))
end
return {math.max(pushed, first + i), room, id}
