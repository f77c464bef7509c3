-- Rule: reuse detection (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.14.2).
-- A credential that was already used once (an authorization code already exchanged, a refresh token
-- already rotated, outside the replay window) proves that someone else holds a copy: everything the
-- grant produced is revoked in the same atomic step. Needs revoke_family.lua.
local function reuse_detected(family, members, revoked, now, min_ttl)
  local r = revoke_family(family, members, revoked, now, min_ttl)
  return {'reused', r[1], r[2], r[3], r[4]}
end
