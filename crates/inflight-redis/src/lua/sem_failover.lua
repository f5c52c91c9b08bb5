-- After a failover: the new master may lack the last grants the old one made before it died
-- (replication is asynchronous). Starts a new epoch, so that every holder's next renewal
-- re-registers its places as after a data loss, and a grace period of one lease in which
-- nothing is granted, so that those renewals come first. Done once per failover: a caller
-- whose known epoch is no longer current finds that another process did it already.
-- ARGV: 1 known epoch ('' if none), 2 new epoch, 3 grace_ms.
-- Returns the current epoch.
local current = redis.call('GET', KEYS[6])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[6], ARGV[2])
  redis.call('SET', KEYS[7], '1', 'PX', tonumber(ARGV[3]))
  return ARGV[2]
end
return current
