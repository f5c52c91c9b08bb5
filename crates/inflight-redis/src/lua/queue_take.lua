-- Hands a worker up to `count` inputs: first (when asked) those idle longer than the lease in
-- any worker's hands (a dead or stalled worker's), then new ones. An input already finished
-- is dropped; one delivered more than max_deliveries times goes to the dead letters.
-- Inputs given back come before all. A queue that does not exist is not made: the reply says
-- so (id ''). A worker name that another live handle uses (its heartbeat within its lease) is
-- refused.
-- KEYS: 1 inputs, 2 meta, 3 done (bitmap), 4 dead (stream), 5 workers (hash), 6 returned (list),
--       7 owners (hash), 8 deleted, 9 events (stream), 10 hosts (hash).
-- ARGV: 1 group, 2 consumer, 3 count, 4 lease_ms, 5 max_deliveries, 6 claim cursor or '' for
--       no claiming this time, 7 the queue id the worker knows ('' if none), 8 its token,
--       9 the worker's host on its first take (for the dashboard), else ''.
-- Returns {{{id, pos, input, deliveries}...}, closed 0/1, inputs not settled, next cursor,
--          entries the claim scan took, last id of inputs, last id of events,
--          {{id, {'pos', pos, 'input', input}}...} first deliveries, the queue id}: with
--          nothing to hand out, the worker blocks on XREAD of inputs and events after those two
--          ids, so a push, a give-back, a close or the queue's end wakes it at once.
local qid, gone = queue_id(KEYS[2], KEYS[8], ARGV[7])
if not qid then
  if ARGV[7] == '' then return {{}, 0, 0, ARGV[6], 0, '', '', {}, ''} end
  return redis.error_reply(gone)
end
local now = now_ms()
local group, consumer = ARGV[1], ARGV[2]
local want = tonumber(ARGV[3])
local max_deliveries = tonumber(ARGV[5])
local mine = ARGV[8] .. ' ' .. ARGV[4]
local owner = redis.call('HGET', KEYS[7], consumer)
if owner ~= mine then
  local token, lease = string.match(owner or '', '^(%S+) (%d+)$')
  local seen = tonumber(redis.call('HGET', KEYS[5], consumer) or '0')
  if token and token ~= ARGV[8] and seen + tonumber(lease) > now then
    return redis.error_reply('INFLIGHT-NAME ' .. (now - seen) .. ' ' .. lease)
  end
  redis.call('HSET', KEYS[7], consumer, mine)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], group, '0', 'MKSTREAM')
end
redis.call('HSET', KEYS[5], consumer, now)
if ARGV[9] and ARGV[9] ~= '' then redis.call('HSET', KEYS[10], consumer, ARGV[9]) end

local out = {}
local function field(fields, name)
  for j = 1, #fields, 2 do
    if fields[j] == name then return fields[j + 1] end
  end
end
local settled = false
local function settle(id)
  settled = true
  redis.call('XACK', KEYS[1], group, id) -- the next batch of acks trims it off
end
local function deliver(id, fields, deliveries)
  local pos = field(fields, 'pos')
  local input = field(fields, 'input')
  -- (a first delivery cannot have finished: no GETBIT for it)
  if deliveries > 1 and redis.call('GETBIT', KEYS[3], pos) == 1 then
    settle(id) -- finished already (its worker's ack raced a claim)
  elseif deliveries > max_deliveries then
    redis.call('SETBIT', KEYS[3], pos, 1)
    redis.call('XADD', KEYS[4], '*', 'pos', pos, 'input', input, 'deliveries', deliveries - 1)
    redis.call('HINCRBY', KEYS[2], 'dead', 1)
    settle(id)
  else
    table.insert(out, {id, pos, input, deliveries})
  end
end

while #out < want do
  local id = redis.call('LPOP', KEYS[6])
  if not id then break end
  -- min-idle of a lease: if a claim scan took it meanwhile, it is someone's again; skip it
  local claimed = redis.call('XCLAIM', KEYS[1], group, consumer, ARGV[4], id)
  if claimed[1] and claimed[1][2] then
    local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
    deliver(id, claimed[1][2], tonumber(p[1][4]))
  end
end

local fresh = {}
local cursor = ARGV[6]
local scanned = 0
if cursor ~= '' and #out < want then
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], group, consumer, ARGV[4], cursor, 'COUNT',
    want - #out)
  cursor = claimed[1]
  scanned = #claimed[2]
  for _, e in ipairs(claimed[2]) do
    if e[2] then
      local p = redis.call('XPENDING', KEYS[1], group, e[1], e[1], 1)
      deliver(e[1], e[2], tonumber(p[1][4]))
    end
  end
end
if #out < want then
  taken(KEYS[2], KEYS[1], group) -- (made first, for a queue of an older inflight)
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - #out,
    'STREAMS', KEYS[1], '>')
  -- First deliveries go back as XREADGROUP gave them ({id, {'pos', p, 'input', i}}): nothing
  -- to check (a first delivery cannot have finished or died), so no work per input here.
  if r then
    fresh = r[1][2]
    redis.call('HINCRBY', KEYS[2], 'taken', #fresh)
  end
end
local closed = 0
if redis.call('HGET', KEYS[2], 'closed') == '1' then closed = 1 end
local left = unsettled(KEYS[2])
-- This take settled the last inputs of a closed queue (dead letters): the others may stop.
if settled and closed == 1 and left <= 0 then
  trim_settled(KEYS[2], KEYS[1], group, nil, true)
  redis.call('XADD', KEYS[9], 'MAXLEN', '16', '*', 'finished', '1')
end
if left < 0 then left = 0 end
local function last_id(key)
  local e = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  if e then return e[1] end
  return '0-0'
end
local inputs_last, events_last = '', ''
if #out == 0 and #fresh == 0 then
  inputs_last, events_last = last_id(KEYS[1]), last_id(KEYS[9])
end
-- A scan that wrapped around (cursor 0-0) but took something may have more behind it.
return {out, closed, left, cursor, scanned, inputs_last, events_last, fresh, qid}
