-- Extends the leases of a holder's places, all under one key.
-- ARGV: 1 known epoch, 2 epoch candidate, 3 grace_ms, 4 lease_ms, 5 idle_ms, 6 default limit,
--       then pairs: token, epoch the place was granted in.
-- A place granted in an older epoch is re-registered: Redis lost it with its data, and its
-- holder still runs. A place whose lease ran out in this epoch (its holder stalled or was cut
-- off longer than a lease) is taken back if there is room and no one waits, else it is lost:
-- its room went to someone else.
-- Returns {epoch, {lost tokens}}.
local now = now_ms()
local epoch = epoch_of(ARGV[1], ARGV[2], tonumber(ARGV[3]))
local limit = current_limit(ARGV[6])
purge(now)
local lease_end = now + tonumber(ARGV[4])
local lost = {}
for i = 7, #ARGV, 2 do
  local token, granted_in = ARGV[i], ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[1], token) or granted_in ~= epoch
      or (free_places(limit) > 0 and redis.call('ZCARD', KEYS[2]) == 0) then
    redis.call('ZADD', KEYS[1], lease_end, token)
  else
    table.insert(lost, token)
  end
end
tidy(tonumber(ARGV[5]))
return {epoch, lost}
