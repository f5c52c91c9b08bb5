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
