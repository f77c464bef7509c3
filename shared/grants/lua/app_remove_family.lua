-- Uncount a family from its app's indexes. Idempotent: only a family still listed uncounts its user, so
-- a family is uncounted at most once whoever removes it (revocation or the sweeper).
-- KEYS: app families, app users. ARGV: family, user_id.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
  return 1
end
return 0
