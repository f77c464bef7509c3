-- Rule: an authorization code is used once (RFC 6749 §4.1.2, §10.5), and only by the client it was issued
-- to (§4.1.3): the presenting client is checked before anything is consumed or revoked.
-- KEYS: code, family, members, revoked, code_scope. ARGV: now, hold_ttl, tombstone_min_ttl, client_id (the
-- authenticated, presenting client).
-- A code presented by another client is refused and left as it is: {'wrong_client'} (a leaked code
-- neither burns the rightful client's code nor, once used, revokes its grant). The first use by its
-- client deletes the code and marks its family ``consumed_at`` (and ``code_client``: whose code it was);
-- a later use by that client of a code whose family is so marked is reuse (reuse_detection.lua): the
-- family and every token it produced are revoked. Either way the code is no longer pending, so its
-- ``code_scope`` goes too (the family speaks for it).
-- Returns the CodeRecord JSON (a plain string, not an array: Redis 6.2 writes each array reply of a
-- script with its own write) | {'reused', client_id, user_id, n} | {'wrong_client'} | {'revoked'}
-- | {'unknown'}.
local now, client = tonumber(ARGV[1]), ARGV[4]
if redis.call('EXISTS', KEYS[4]) == 1 then return {'revoked'} end
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, rec = pcall(cjson.decode, raw)
  if not ok or type(rec) ~= 'table' or rec.client_id ~= client then return {'wrong_client'} end
  redis.call('DEL', KEYS[1], KEYS[5])
  redis.call('HSET', KEYS[2], 'consumed_at', now, 'code_client', client)
  if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
  return raw
end
if redis.call('HEXISTS', KEYS[2], 'consumed_at') == 1 then
  -- whose code it was: marked at its use; a family consumed before that mark names its client once issued
  local owner = redis.call('HMGET', KEYS[2], 'code_client', 'client_id')
  local issued_to = owner[1] or owner[2]
  if issued_to and issued_to ~= client then return {'wrong_client'} end
  redis.call('DEL', KEYS[5])
  return reuse_detected(KEYS[2], KEYS[3], KEYS[4], now, tonumber(ARGV[3]))
end
return {'unknown'}
