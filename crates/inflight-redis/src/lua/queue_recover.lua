-- Finds the inputs a worker was handed by a take whose reply it never got (Redis went away
-- after running the take, before the reply arrived): pending for this worker in Redis, yet
-- not among those it holds. They are handed out again (their idle time reset), without
-- counting another delivery; any that finished meanwhile are settled.
-- KEYS: 1 inputs, 2 done (bitmap), 3 meta, 4 deleted.
-- ARGV: 1 group, 2 consumer, 3 the queue id the worker knows, 4.. ids the worker holds.
-- Returns {{id, pos, input, deliveries}...}.
local qid, gone = queue_id(KEYS[3], KEYS[4], ARGV[3])
if not qid then return redis.error_reply(gone) end
local out = {}
local held = {}
for i = 4, #ARGV do held[ARGV[i]] = true end
local function field(fields, name)
  for j = 1, #fields, 2 do
    if fields[j] == name then return fields[j + 1] end
  end
end
local start = '-'
while true do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 1000, ARGV[2])
  for _, e in ipairs(p) do
    local id = e[1]
    if not held[id] then
      local entry = redis.call('XRANGE', KEYS[1], id, id)[1]
      local pos = entry and field(entry[2], 'pos')
      if not pos or redis.call('GETBIT', KEYS[2], pos) == 1 then
        redis.call('XACK', KEYS[1], ARGV[1], id) -- trimmed off with the next batch of acks
      else
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')
        table.insert(out, {id, pos, field(entry[2], 'input'), tonumber(e[4])})
      end
    end
  end
  if #p < 1000 then break end
  start = '(' .. p[#p][1]
end
return out
