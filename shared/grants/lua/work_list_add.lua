-- Put a new family on the sweeper's work list (one slot, the work list's); a member already there
-- keeps its due time.
-- KEYS: the work list. ARGV: expiry, member.
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
return 1
