-- The signing key set replaced only if it is still the one the caller read (compare and set), so two
-- rotations at once cannot both win: the loser reads again and sees the winner's keys.
-- KEYS: the signing key set. ARGV: the value read, the new value.
-- Returns 1 when replaced, 0 when the set changed meanwhile (or is gone).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
