-- Uncount one family from every index (single Redis only: the app's, the user's and the work list's
-- slots): app_remove_family (idempotent, so a family uncounts its user at most once), then the user's
-- family index and the sweeper's work list, as ``RedisSweepStore.uncount`` sends them as three commands
-- on a Redis Cluster.
-- KEYS: app families, app users, user families, work list. ARGV: family, user_id, work-list member.
app_remove_family({KEYS[1], KEYS[2]}, {ARGV[1], ARGV[2]})
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[3])
return 1
