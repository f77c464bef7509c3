-- Forget every open consent page of one app (decided once, that request's other pages are void).
-- KEYS: the user's page list. ARGV: client_id, page key prefix (the page's key without its signature).
-- Returns the number of pages forgotten.
local n = 0
for _, member in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local signature, client = string.match(member, '^(%S+) (.*)$')
  if client == ARGV[1] then
    redis.call('LREM', KEYS[1], 1, member)
    redis.call('DEL', ARGV[2] .. signature)
    n = n + 1
  end
end
return n
