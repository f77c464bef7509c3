-- Give one count back to a rate-limit window (a sign-in that succeeded returns its address's count), but
-- never create a key: a refund after the window ended is a no-op.
-- KEYS: the window's counter. Returns the count left, or 0 when there is no window.
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
