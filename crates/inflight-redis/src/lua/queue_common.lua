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

-- Inputs handed to a worker for the first time, in all: the `taken` count of the meta hash,
-- which each take raises by its first deliveries (the group's own lag is not kept across an
-- AOF reload or on a replica, so not after a failover). A queue made by an older inflight has
-- no count yet: its stream then held only unsettled inputs (each was deleted when settled),
-- so the count is what was pushed less what is in the stream and not pending, once.
local function taken(meta, inputs, group)
  local t = redis.call('HGET', meta, 'taken')
  if t then return tonumber(t) end
  local waiting = 0
  if redis.call('EXISTS', inputs) == 1 then
    waiting = redis.call('XLEN', inputs) - redis.call('XPENDING', inputs, group)[1]
  end
  t = math.max(0, tonumber(redis.call('HGET', meta, 'pushed') or '0') - waiting)
  redis.call('HSET', meta, 'taken', string.format('%.0f', t))
  return t
end

-- Inputs pushed and not yet handed to any worker.
local function untaken(meta, inputs, group)
  return math.max(0, tonumber(redis.call('HGET', meta, 'pushed') or '0')
    - taken(meta, inputs, group))
end

-- Inputs pushed and not settled: neither a result nor a dead letter yet (each position gets
-- exactly one of them, guarded by the done bitmap, and is counted once).
local function unsettled(meta)
  local m = redis.call('HMGET', meta, 'pushed', 'done', 'failed', 'dead')
  return (tonumber(m[1]) or 0) - (tonumber(m[2]) or 0) - (tonumber(m[3]) or 0)
    - (tonumber(m[4]) or 0)
end

-- How many settled inputs may wait in the stream behind one still running before they are
-- deleted one by one: see trim_settled.
local SETTLED_KEPT = 1000

-- Settled inputs (acknowledged already) leave the stream. Those before the oldest input still
-- pending (with none pending, all that the group has handed out) are trimmed off its front in
-- whole nodes (MINID ~), which costs next to nothing, where an XDEL of each rewrites its node
-- every time (the largest part of Redis's time per input). But one long job would then keep
-- everything settled after it in the stream: past SETTLED_KEPT of those, the `ids` just
-- settled are deleted one by one, as before. `exact` (the queue has finished) drops the last,
-- partial node too.
local function trim_settled(meta, inputs, group, ids, exact)
  if redis.call('EXISTS', inputs) == 0 then return end
  local summary = redis.call('XPENDING', inputs, group)
  local first = summary[2]
  if not first then
    local last = nil
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', inputs)) do
      for j = 1, #g, 2 do
        if g[j] == 'name' and g[j + 1] ~= group then break end
        if g[j] == 'last-delivered-id' then last = g[j + 1] end
      end
    end
    if not last then return end
    local ms, seq = string.match(last, '^(%d+)-(%d+)$')
    first = ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)
  end
  redis.call('XTRIM', inputs, 'MINID', exact and '=' or '~', first)
  if ids and #ids > 0 then
    local kept = redis.call('XLEN', inputs) - summary[1] - untaken(meta, inputs, group)
    if kept > SETTLED_KEPT then redis.call('XDEL', inputs, unpack(ids)) end
  end
end
