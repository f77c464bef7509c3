-- A slot for one attempt to an app's endpoint (KEYS[1] the in-flight set): ARGV[1] now (ms),
-- ARGV[2] when the slot lapses (ms), ARGV[3] the attempt id, ARGV[4] the limit.
-- Slots of replicas that died lapse. Returns 1 when taken, 0 when the app is at its limit.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
