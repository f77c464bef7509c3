-- The first access/refresh pair of a family, written after its code was consumed; nothing is written
-- when the family was revoked meanwhile (a revocation that raced the exchange wins).
-- KEYS: family, members, revoked, access, refresh.
-- ARGV: now, access JSON, access ttl, refresh JSON, refresh ttl, client_id, user_id, scope, and the
-- family's OpenID Connect session JSON ('' = none: the scope has no openid), kept in field 'oidc'.
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local at_ttl, rt_ttl = tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('SET', KEYS[4], ARGV[2], 'EX', at_ttl)
redis.call('SET', KEYS[5], ARGV[4], 'EX', rt_ttl)
redis.call('HSET', KEYS[1], 'client_id', ARGV[6], 'user_id', ARGV[7], 'scope', ARGV[8], 'created_at', now,
  'indexed_until', now + rt_ttl)
if ARGV[9] and ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'oidc', ARGV[9]) end
redis.call('HDEL', KEYS[1], 'code_client')  -- code_single_use's mark: client_id now names the client
redis.call('EXPIRE', KEYS[1], rt_ttl)
redis.call('ZADD', KEYS[2], now + at_ttl, KEYS[4], now + rt_ttl, KEYS[5])
redis.call('EXPIRE', KEYS[2], rt_ttl)
return 1
