-- Take one consent page: its record, deleted in the same step (exactly one decision gets it), and its
-- entry in the user's list. KEYS: the user's page list, the page. ARGV: the page's signature.
-- Returns the record JSON, or nil (unknown, expired, dropped or already taken).
local raw = redis.call('GETDEL', KEYS[2])
local prefix = ARGV[1] .. ' '
for _, member in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, #prefix) == prefix then
    redis.call('LREM', KEYS[1], 1, member)
    break
  end
end
return raw
