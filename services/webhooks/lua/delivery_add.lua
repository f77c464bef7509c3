-- A new delivery in an app's log (KEYS[1] the id list, KEYS[2] the records hash), once per id:
-- ARGV[1] id, ARGV[2] its JSON record, ARGV[3] how many deliveries the log keeps.
-- The oldest ids past the limit leave with their records. Returns 1 when added, 0 when already there.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[1], ARGV[1])
local keep = tonumber(ARGV[3])
while redis.call('LLEN', KEYS[1]) > keep do
  local old = redis.call('RPOP', KEYS[1])
  redis.call('HDEL', KEYS[2], old)
end
return 1
