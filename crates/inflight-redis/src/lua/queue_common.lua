-- Shared by the queue scripts; prepended to each.
-- A queue's identity is the random `id` field of its meta hash, made by the push that makes
-- the queue. A process learns it from its first step and sends it with every step after: a
-- queue deleted (`inflight queue delete`) or lost with Redis's data (a restart without
-- persistence, FLUSHALL) then answers with an error, before any write, so that no late write
-- of a worker makes its keys again. A delete leaves the id it removed in `deleted` for an
-- hour, which tells the two apart.

-- The queue's id; or nil and the error to return: INFLIGHT-MISSING (no queue, and the caller
-- knew none), INFLIGHT-DELETED or INFLIGHT-LOST (the id the caller knew is gone).
local function queue_id(meta, deleted, known)
  local id = redis.call('HGET', meta, 'id')
  if id and (known == '' or known == id) then return id end
  if known == '' then return nil, 'INFLIGHT-MISSING no queue by this name' end
  if redis.call('GET', deleted) == known then
    return nil, 'INFLIGHT-DELETED the queue was deleted'
  end
  return nil, 'INFLIGHT-LOST the queue data is gone'
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The fields of the consumer group `group` of stream `inputs` (XINFO GROUPS), or nil.
local function group_info(inputs, group)
  if redis.call('EXISTS', inputs) == 0 then return nil end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', inputs)) do
    local f = {}
    for j = 1, #g, 2 do f[g[j]] = g[j + 1] end
    if f['name'] == group then return f end
  end
end

-- Inputs pushed and not yet handed to any worker: the group's lag, which Redis keeps exact
-- because no entry of the stream is deleted one by one (settled ones are trimmed off its
-- front, see trim_settled). Where Redis cannot tell (a stream an older inflight deleted from),
-- the entries less those pending, which counts settled entries not yet trimmed as waiting.
local function untaken(inputs, group)
  local f = group_info(inputs, group)
  if not f then return 0 end
  if f['lag'] then return tonumber(f['lag']) end
  return math.max(0, redis.call('XLEN', inputs) - tonumber(f['pending']))
end

-- Inputs pushed and not settled: neither a result nor a dead letter yet (each position gets
-- exactly one of them, guarded by the done bitmap, and is counted once).
local function unsettled(meta)
  local m = redis.call('HMGET', meta, 'pushed', 'done', 'failed', 'dead')
  return (tonumber(m[1]) or 0) - (tonumber(m[2]) or 0) - (tonumber(m[3]) or 0)
    - (tonumber(m[4]) or 0)
end

-- Drops settled inputs (acknowledged already) off the front of the stream: everything before
-- the oldest input still pending or, with none pending, everything the group has handed out.
-- In whole nodes of the stream (MINID ~), which costs next to nothing; an XDEL of each input
-- instead rewrote its node every time, the largest part of Redis's time per input. `exact`
-- (the queue has finished) drops the last, partial node too.
local function trim_settled(inputs, group, exact)
  if redis.call('EXISTS', inputs) == 0 then return end
  local first = redis.call('XPENDING', inputs, group)[2]
  if not first then
    local f = group_info(inputs, group)
    if not f then return end
    local ms, seq = string.match(f['last-delivered-id'], '^(%d+)-(%d+)$')
    first = ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)
  end
  redis.call('XTRIM', inputs, 'MINID', exact and '=' or '~', first)
end
