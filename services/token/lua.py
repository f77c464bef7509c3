"""Lua sources of the token store's atomic operations (no I/O here; ``store`` runs them).

Every script touches keys of ONE hash slot: either one token family (``{f:<family>}``), one app
(``{a:<client_id>}``) or one user (``{u:<user_id>}``); keys listed in a family's member index are in the
family's slot by construction. Times are whole epoch seconds passed in by the caller.
Results are flat arrays whose first element names the outcome.
"""

from __future__ import annotations

from typing import Final

# Delete every key of a family, the family record and its index; leave a tombstone that outlives every
# member so in-flight requests on the family fail too. Returns {client_id, user_id, members deleted}.
_REVOKE_FN: Final = """
local function revoke_family(family, members, revoked, now, min_ttl)
  local info = redis.call('HMGET', family, 'client_id', 'user_id')
  local entries = redis.call('ZRANGE', members, 0, -1, 'WITHSCORES')
  local last = now + min_ttl
  for i = 1, #entries, 2 do
    redis.call('DEL', entries[i])
    local exp = tonumber(entries[i + 1])
    if exp > last then last = exp end
  end
  redis.call('DEL', family, members)
  redis.call('SET', revoked, now, 'EX', last - now)
  return {info[1] or '', info[2] or '', #entries / 2}
end
"""

# KEYS: code, family, members, revoked. ARGV: now, hold_ttl, tombstone_min_ttl.
# A code is deleted when consumed and its family marked ``consumed_at``; a later use of a code whose
# family is so marked is reuse (RFC 6749 §4.1.2): the family is revoked in the same step.
CONSUME_CODE: Final = (
    _REVOKE_FN
    + """
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[4]) == 1 then return {'revoked'} end
local raw = redis.call('GET', KEYS[1])
if raw then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'consumed_at', now)
  if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
  return {'ok', raw}
end
if redis.call('HEXISTS', KEYS[2], 'consumed_at') == 1 then
  local r = revoke_family(KEYS[2], KEYS[3], KEYS[4], now, tonumber(ARGV[3]))
  return {'reused', r[1], r[2], r[3]}
end
return {'unknown'}
"""
)

# KEYS: family, members, revoked, access, refresh. ARGV: now, access JSON, access ttl, refresh JSON,
# refresh ttl, client_id, user_id, scope. The first pair of a family (after its code was consumed).
ISSUE_FIRST: Final = """
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local at_ttl, rt_ttl = tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('SET', KEYS[4], ARGV[2], 'EX', at_ttl)
redis.call('SET', KEYS[5], ARGV[4], 'EX', rt_ttl)
redis.call('HSET', KEYS[1], 'client_id', ARGV[6], 'user_id', ARGV[7], 'scope', ARGV[8], 'created_at', now)
redis.call('EXPIRE', KEYS[1], rt_ttl)
redis.call('ZADD', KEYS[2], now + at_ttl, KEYS[4], now + rt_ttl, KEYS[5])
redis.call('EXPIRE', KEYS[2], rt_ttl)
return 1
"""

# Narrow ``granted`` to ``requested`` (never widen), keeping the granted order; nil when widened.
_NARROW_FN: Final = """
local function narrow(granted, requested)
  if requested == '' then return granted end
  local want, have, out = {}, {}, {}
  for s in string.gmatch(requested, '%S+') do want[s] = true end
  for s in string.gmatch(granted, '%S+') do
    have[s] = true
    if want[s] then out[#out + 1] = s end
  end
  for s in pairs(want) do if not have[s] then return nil end end
  return table.concat(out, ' ')
end
"""

# KEYS: presented refresh, family, members, revoked, replay, new access, new refresh.
# ARGV: now, client_id, requested scope ('' = unchanged), replay window ms, sealed successor pair,
#       access ttl, refresh ttl, tombstone_min_ttl.
# Exactly one rotation per refresh token: the first caller rotates; callers within the replay window
# get the sealed successor pair back; any later use revokes the family (RFC 9700 §4.14.2).
ROTATE_REFRESH: Final = (
    _REVOKE_FN
    + _NARROW_FN
    + """
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[4]) == 1 then return {'revoked'} end
local raw = redis.call('GET', KEYS[1])
if not raw then return {'unknown'} end
local rec = cjson.decode(raw)
if rec.client_id ~= ARGV[2] then return {'wrong_client'} end
if rec.rotated_at and rec.rotated_at ~= 0 then
  local replay = redis.call('HMGET', KEYS[5], 'blob', 'scope')
  if replay[1] then return {'replay', replay[1], replay[2]} end
  local r = revoke_family(KEYS[2], KEYS[3], KEYS[4], now, tonumber(ARGV[8]))
  return {'reused', r[1], r[2], r[3]}
end
local scope = narrow(rec.scope, ARGV[3])
if not scope then return {'invalid_scope'} end
local at_ttl, rt_ttl, window = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[4])
rec.rotated_at = now
redis.call('SET', KEYS[1], cjson.encode(rec), 'KEEPTTL')
redis.call('SET', KEYS[6], cjson.encode({family = rec.family, client_id = rec.client_id,
  user_id = rec.user_id, scope = scope, issued_at = now, expires_at = now + at_ttl}), 'EX', at_ttl)
redis.call('SET', KEYS[7], cjson.encode({family = rec.family, client_id = rec.client_id,
  user_id = rec.user_id, scope = scope, issued_at = now, rotated_at = 0, expires_at = now + rt_ttl}),
  'EX', rt_ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], now + at_ttl, KEYS[6], now + rt_ttl, KEYS[7])
if window > 0 then
  redis.call('HSET', KEYS[5], 'blob', ARGV[5], 'scope', scope)
  redis.call('PEXPIRE', KEYS[5], window)
  redis.call('ZADD', KEYS[3], now + math.ceil(window / 1000), KEYS[5])
end
redis.call('EXPIRE', KEYS[3], rt_ttl)
redis.call('EXPIRE', KEYS[2], rt_ttl)
return {'rotated', scope, rec.user_id}
"""
)

# KEYS: family, members, revoked. ARGV: now, tombstone_min_ttl. Returns {client_id, user_id, deleted}.
REVOKE_FAMILY: Final = (
    _REVOKE_FN
    + """
return revoke_family(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]))
"""
)

# ---- cross-slot indexes, one slot each ------------------------------------------------------------

# KEYS: app families, app users. ARGV: family, user_id, expiry. A family counts its user once.
APP_ADD_FAMILY: Final = """
if redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
return 0
"""

# KEYS: app families, app users. ARGV: family, user_id. Idempotent: only a present family uncounts.
APP_REMOVE_FAMILY: Final = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
  return 1
end
return 0
"""

# KEYS: user families, user grants. ARGV: family, expiry, client_id, now, mode ('NX' new | 'XX' slide).
# Also stamps the grant's last_used_at (GrantRecord, JSON in the user's grants hash).
USER_TOUCH_FAMILY: Final = """
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
"""
