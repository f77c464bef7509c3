-- A delivery's record replaced (KEYS[1] the records hash, ARGV[1] id, ARGV[2] the JSON record),
-- only while the log still holds it (a record trimmed from the log stays gone). Returns 1 or 0.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
