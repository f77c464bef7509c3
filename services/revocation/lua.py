"""Lua sources of the revocation service's atomic steps (no I/O here; the stores run them).

Family revocation itself is the token store's script (``services.token.lua.REVOKE_FAMILY``), reused
through ``RedisTokenStore.revoke``. These scripts add what only revocation needs. Each touches ONE hash
slot: a family (``{f:<family>}``; keys listed in a family's member index are in its slot by
construction) or a user (``{u:<user_id>}``).
"""

from __future__ import annotations

from typing import Final

# KEYS: access token, family members. Deletes one access token (RFC 7009 for an access token).
REVOKE_ACCESS: Final = """
redis.call('ZREM', KEYS[2], KEYS[1])
return redis.call('DEL', KEYS[1])
"""

# Keep, in order, only the scopes of ``allowed`` (a set built from a space-separated list).
_NARROW_FN: Final = """
local allowed = {}
for s in string.gmatch(ARGV[1], '%S+') do allowed[s] = true end
local function narrow(scope)
  local out = {}
  for s in string.gmatch(scope or '', '%S+') do
    if allowed[s] then out[#out + 1] = s end
  end
  return table.concat(out, ' ')
end
"""

# KEYS: family, members, revoked. ARGV: allowed scopes (space-separated).
# Rewrites the scope of every token record of the family (access, refresh, replay window) and of the
# family record. Nothing is written when any of them would be left without a scope: the caller revokes
# the family instead. Returns {'gone'} | {'empty', client_id, user_id} |
# {'same' | 'narrowed', client_id, user_id, new family scope}.
NARROW_FAMILY: Final = (
    _NARROW_FN
    + """
if redis.call('EXISTS', KEYS[3]) == 1 then return {'gone'} end
local info = redis.call('HMGET', KEYS[1], 'client_id', 'user_id', 'scope')
if not info[1] then return {'gone'} end
local scope = narrow(info[3])
if scope == '' then return {'empty', info[1], info[2]} end
local writes = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if string.find(key, ':replay:', 1, true) then
    local old = redis.call('HGET', key, 'scope')
    if old then
      local new = narrow(old)
      if new == '' then return {'empty', info[1], info[2]} end
      if new ~= old then writes[#writes + 1] = {key, 'replay', new} end
    end
  else
    local raw = redis.call('GET', key)
    if raw then
      local rec = cjson.decode(raw)
      local new = narrow(rec.scope)
      if new == '' then return {'empty', info[1], info[2]} end
      if new ~= rec.scope then
        rec.scope = new
        writes[#writes + 1] = {key, 'record', cjson.encode(rec)}
      end
    end
  end
end
for _, w in ipairs(writes) do
  if w[2] == 'replay' then
    redis.call('HSET', w[1], 'scope', w[3])
  else
    redis.call('SET', w[1], w[3], 'KEEPTTL')
  end
end
if scope ~= info[3] then redis.call('HSET', KEYS[1], 'scope', scope) end
if #writes == 0 and scope == info[3] then return {'same', info[1], info[2], scope} end
return {'narrowed', info[1], info[2], scope}
"""
)

# KEYS: user grants. ARGV: allowed scopes, client_id. Narrows the user's grant to the app (GrantRecord
# JSON); a grant left without a scope is deleted. Returns {'none'} | {'same'|'narrowed'|'empty', scope}.
NARROW_GRANT: Final = (
    _NARROW_FN
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return {'none'} end
local rec = cjson.decode(raw)
local scope = narrow(rec.scope)
if scope == rec.scope then return {'same', scope} end
if scope == '' then
  redis.call('HDEL', KEYS[1], ARGV[2])
  return {'empty', scope}
end
rec.scope = scope
redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(rec))
return {'narrowed', scope}
"""
)

# KEYS: family members. Milliseconds left to the family's longest-lived refresh token (0: none left).
# Reads the keys' own TTLs, not the index scores, so a token is live exactly as long as Redis keeps it.
REFRESH_LEFT_MS: Final = """
local best = 0
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.find(key, ':rt:', 1, true) then
    local ttl = redis.call('PTTL', key)
    if ttl > best then best = ttl end
  end
end
return best
"""

# KEYS: user grants. ARGV: client_id, cutoff (epoch seconds). Drops the user's grant to the app when it
# was authorized at or before ``cutoff`` (a newer one may still have a code on its way to the token
# endpoint). The caller has seen that the user has no live family of the app left.
DROP_IDLE_GRANT: Final = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local rec = cjson.decode(raw)
if (tonumber(rec.authorized_at) or 0) <= tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""
