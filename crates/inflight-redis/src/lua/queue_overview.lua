-- Reads what a dashboard shows of a queue beyond its counters, in one step.
-- KEYS: 1 tally (hash), 2 hosts (hash), 3 failures (stream), 4 dead (stream).
-- ARGV: 1 how many failures, 2 how many dead letters (newest first).
-- Returns {tally (flat hash), hosts (flat hash), failures (XREVRANGE), dead (XREVRANGE)}.
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
  redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', ARGV[1]),
  redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', ARGV[2])}
