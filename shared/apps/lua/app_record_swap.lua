-- An app record replaced only if it is still the one the caller read (compare and set), so two
-- writers at once (e.g. the same leaked secret reported twice) cannot both act: the loser reads again.
-- KEYS: the app record. ARGV: the value read, the new value.
-- Returns 1 when replaced, 0 when the record changed meanwhile (or is gone).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
