-- Revoke a family on request (RFC 7009 for a refresh token, revoke-all, connected apps, plan changes).
-- KEYS: family, members, revoked. ARGV: now, tombstone_min_ttl. Returns {client_id, user_id, deleted, first}.
return revoke_family(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]))
