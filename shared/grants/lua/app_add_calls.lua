-- Count verified API calls of an app that exists (one slot: the app's): its total and the day's
-- counter, each with a TTL set again by every count. The ids come from resource servers (token.calls):
-- an id of no app (a random one, an app deleted since) writes nothing.
-- KEYS: app record, calls total, calls of the day. ARGV: calls, total TTL, day TTL (seconds).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('INCRBY', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
