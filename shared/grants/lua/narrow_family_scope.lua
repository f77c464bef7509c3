-- A plan change narrows a family (scope_narrowing.lua): the family record and every token record of the
-- family (access, refresh, replay window) keep only the allowed scopes. Nothing is written when any of
-- them would be left without a scope: the caller revokes the family instead.
-- KEYS: family, members, revoked. ARGV: allowed scopes (space-separated).
-- The member index lists each member with its kind: the keys are the family's own (``grants.keys``).
-- Returns {'gone'} | {'empty', client_id, user_id} | {'same' | 'narrowed', client_id, user_id, scope}.
local allowed = scope_set(ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then return {'gone'} end
local info = redis.call('HMGET', KEYS[1], 'client_id', 'user_id', 'scope')
if not info[1] then return {'gone'} end
local scope = narrow_to_allowed(info[3], allowed)
if scope == '' then return {'empty', info[1], info[2]} end
local writes = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('TYPE', key).ok == 'hash' then  -- a replay window entry: {blob, scope}
    local old = redis.call('HGET', key, 'scope')
    if old then
      local new = narrow_to_allowed(old, allowed)
      if new == '' then return {'empty', info[1], info[2]} end
      if new ~= old then writes[#writes + 1] = {key, 'replay', new} end
    end
  else
    local raw = redis.call('GET', key)
    if raw then
      local rec = cjson.decode(raw)
      local new = narrow_to_allowed(rec.scope, allowed)
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
