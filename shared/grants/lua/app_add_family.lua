-- Count a new family in its app's indexes (one slot: the app's). A family counts its user once.
-- KEYS: app families, app users. ARGV: family, user_id, expiry.
if redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
return 0
