-- Put a new family on the sweeper's work list (only inside a sequence: elsewhere a plain ZADD NX).
-- KEYS: the work list. ARGV: expiry, member.
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
return 1
