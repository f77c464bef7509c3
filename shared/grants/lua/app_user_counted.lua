-- Whether the user still counts as an active authorization of the app (1) or not (0).
-- KEYS: app users. ARGV: user_id.
return redis.call('HEXISTS', KEYS[1], ARGV[1])
