-- A plan change narrows the user's grant to an app (GrantRecord JSON; scope_narrowing.lua); a grant left
-- without a scope is deleted. KEYS: user grants. ARGV: allowed scopes, client_id.
-- Returns {'none'} | {'same' | 'narrowed' | 'empty', scope}.
local allowed = scope_set(ARGV[1])
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return {'none'} end
local rec = cjson.decode(raw)
local scope = narrow_to_allowed(rec.scope, allowed)
if scope == rec.scope then return {'same', scope} end
if scope == '' then
  redis.call('HDEL', KEYS[1], ARGV[2])
  return {'empty', scope}
end
rec.scope = scope
redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(rec))
return {'narrowed', scope}
