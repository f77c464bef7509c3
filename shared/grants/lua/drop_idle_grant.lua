-- Drop the user's grant to the app when it was authorized at or before ``cutoff`` (a newer one may still
-- have a code on its way to the token endpoint). The caller has seen that the user has no live family of
-- the app left. KEYS: user grants. ARGV: client_id, cutoff (epoch seconds). Returns 1 when dropped.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local rec = cjson.decode(raw)
if (tonumber(rec.authorized_at) or 0) <= tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
