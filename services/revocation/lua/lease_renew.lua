-- Renew the sweeper's lease, for its current holder only (a holder whose lease expired and was taken
-- over never renews it again).
-- KEYS: the lease. ARGV: holder, ttl in milliseconds. Returns 1 when renewed, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
