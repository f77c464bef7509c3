-- Library: revoke one grant family (every code and token descended from one authorization).
-- Deletes every key listed in the family's member index, the family record and the index, and leaves a
-- tombstone that outlives every member, so a request already in flight on the family fails too.
-- Returns {client_id, user_id, members deleted, 1 when this call wrote the first tombstone else 0}. All keys are in the family's hash slot.
local function revoke_family(family, members, revoked, now, min_ttl)
  local info = redis.call('HMGET', family, 'client_id', 'user_id')
  local first = 1 - redis.call('EXISTS', revoked)
  local entries = redis.call('ZRANGE', members, 0, -1, 'WITHSCORES')
  local last = now + min_ttl
  for i = 1, #entries, 2 do
    redis.call('DEL', entries[i])
    local exp = tonumber(entries[i + 1])
    if exp > last then last = exp end
  end
  redis.call('DEL', family, members)
  redis.call('SET', revoked, now, 'EX', last - now)
  return {info[1] or '', info[2] or '', #entries / 2, first}
end
