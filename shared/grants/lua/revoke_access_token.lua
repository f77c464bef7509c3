-- Revoke one access token (RFC 7009 §2.1: an access token revokes only itself).
-- KEYS: access token, family members. Returns 1 when it existed.
redis.call('ZREM', KEYS[2], KEYS[1])
return redis.call('DEL', KEYS[1])
