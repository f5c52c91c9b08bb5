-- Hands a worker up to `count` inputs: first (when asked) those idle longer than the lease in
-- any worker's hands (a dead or stalled worker's), then new ones. An input already finished
-- is dropped; one delivered more than max_deliveries times goes to the dead letters.
-- Inputs given back come before all.
-- KEYS: 1 inputs, 2 meta, 3 done (bitmap), 4 dead (stream), 5 workers (hash), 6 returned (list),
--       7 hosts (hash).
-- ARGV: 1 group, 2 consumer, 3 count, 4 lease_ms, 5 max_deliveries, 6 claim cursor or '' for
--       no claiming this time, 7 the worker's host on its first take (for the dashboard), else ''.
-- Returns {{{id, pos, input, deliveries}...}, closed 0/1, entries left, next cursor,
--          entries the claim scan took}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local group, consumer = ARGV[1], ARGV[2]
local want = tonumber(ARGV[3])
local max_deliveries = tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], group, '0', 'MKSTREAM')
end
redis.call('HSET', KEYS[5], consumer, now)
if ARGV[7] and ARGV[7] ~= '' then redis.call('HSET', KEYS[7], consumer, ARGV[7]) end

local out = {}
local function field(fields, name)
  for j = 1, #fields, 2 do
    if fields[j] == name then return fields[j + 1] end
  end
end
local function settle(id)
  redis.call('XACK', KEYS[1], group, id)
  redis.call('XDEL', KEYS[1], id)
end
local function deliver(id, fields, deliveries)
  local pos = field(fields, 'pos')
  local input = field(fields, 'input')
  if redis.call('GETBIT', KEYS[3], pos) == 1 then
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
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - #out,
    'STREAMS', KEYS[1], '>')
  if r then
    for _, e in ipairs(r[1][2]) do deliver(e[1], e[2], 1) end
  end
end
local closed = 0
if redis.call('HGET', KEYS[2], 'closed') == '1' then closed = 1 end
-- A scan that wrapped around (cursor 0-0) but took something may have more behind it.
return {out, closed, redis.call('XLEN', KEYS[1]), cursor, scanned}
