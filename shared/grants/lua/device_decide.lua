-- The user's decision on a device authorization (RFC 8628 §3.3), once, in the family's slot.
-- KEYS: device, code, code_scope, revoked.
-- ARGV: decision ('approved' | 'denied'), now, the approval's CodeRecord JSON, its scope, its TTL.
-- Only a pending, unexpired device authorization of a family not revoked is decided: the approval is
-- stored as a code under the device code's signature (value and TTL in one write), with its scope for
-- plan changes, and the status set in the same step. Returns 'ok' | 'decided' | 'expired' | 'unknown'.
local d = redis.call('HMGET', KEYS[1], 'status', 'expires_at')
if not d[1] then return 'unknown' end
if redis.call('EXISTS', KEYS[4]) == 1 then return 'decided' end
if d[1] ~= 'pending' then return 'decided' end
if tonumber(ARGV[2]) >= tonumber(d[2]) then return 'expired' end
if ARGV[1] == 'approved' then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[5])
  redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
return 'ok'
