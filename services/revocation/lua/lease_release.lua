-- Release the sweeper's lease, for its current holder only (a graceful stop hands it over at once).
-- KEYS: the lease. ARGV: holder. Returns 1 when released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
