-- Rule: an authorization code is used once (RFC 6749 §4.1.2, §10.5).
-- KEYS: code, family, members, revoked, code_scope. ARGV: now, hold_ttl, tombstone_min_ttl.
-- The first use deletes the code and marks its family ``consumed_at``; a later use of a code whose family
-- is so marked is reuse (reuse_detection.lua): the family and every token it produced are revoked.
-- Either way the code is no longer pending, so its ``code_scope`` goes too (the family speaks for it).
-- Returns the CodeRecord JSON (a plain string, not an array: Redis 6.2 writes each array reply of a
-- script with its own write) | {'reused', client_id, user_id, n} | {'revoked'} | {'unknown'}.
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[4]) == 1 then return {'revoked'} end
local raw = redis.call('GET', KEYS[1])
if raw then
  redis.call('DEL', KEYS[1], KEYS[5])
  redis.call('HSET', KEYS[2], 'consumed_at', now)
  if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
  return raw
end
if redis.call('HEXISTS', KEYS[2], 'consumed_at') == 1 then
  redis.call('DEL', KEYS[5])
  return reuse_detected(KEYS[2], KEYS[3], KEYS[4], now, tonumber(ARGV[3]))
end
return {'unknown'}
