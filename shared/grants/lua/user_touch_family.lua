-- Index a family under its user and stamp the user's grant to the app as used (one slot: the user's).
-- KEYS: user families, user grants. ARGV: family, expiry, client_id, now, mode ('NX' new | 'XX' slide).
if ARGV[5] == 'NX' then
  redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], 'XX', 'GT', ARGV[2], ARGV[1])
end
local grant = redis.call('HGET', KEYS[2], ARGV[3])
if grant then
  local rec = cjson.decode(grant)
  rec.last_used_at = tonumber(ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[3], cjson.encode(rec))
end
return 1
