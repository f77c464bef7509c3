-- A device's poll at the token endpoint (RFC 8628 §3.4-3.5), in one step in the family's slot.
-- KEYS: device, code, family, members, revoked, code_scope (the approval is a code under the device
-- code's signature, taken once by code_single_use).
-- ARGV: now_ms, client_id (authenticated), hold_ttl, slow_down step (seconds), tolerance_ms.
-- Order: unknown or another client's device code {'unknown'} (nothing changes); a device code whose
-- tokens (or denial) were already handed out {'done'}; a revoked family {'revoked'}; past its expiry
-- {'expired'}; denied: {'denied'} once, then done; approved: the code's record, taken once, then done;
-- pending: {'slow_down', interval} when polled sooner than the interval after the previous poll (the
-- interval grows by the step for this device code), else {'pending'}.
local now_ms, client = tonumber(ARGV[1]), ARGV[2]
local d = redis.call('HMGET', KEYS[1], 'client_id', 'status', 'expires_at', 'interval', 'polled_ms')
if not d[1] or d[1] ~= client then return {'unknown'} end
local status = d[2]
if status == 'done' then return {'done'} end
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('HSET', KEYS[1], 'status', 'done')
  return {'revoked'}
end
if now_ms >= tonumber(d[3]) * 1000 then return {'expired'} end
if status == 'denied' then
  redis.call('HSET', KEYS[1], 'status', 'done')
  return {'denied'}
end
if status == 'approved' then
  redis.call('HSET', KEYS[1], 'status', 'done')
  return code_single_use({KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]},
    {math.floor(now_ms / 1000), ARGV[3], ARGV[3], client})
end
local interval, polled = tonumber(d[4]), tonumber(d[5] or '0')
redis.call('HSET', KEYS[1], 'polled_ms', now_ms)
if polled > 0 and now_ms - polled < interval * 1000 - tonumber(ARGV[5]) then
  interval = interval + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'interval', interval)
  return {'slow_down', interval}
end
return {'pending'}
