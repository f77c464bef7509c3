-- Refresh-token rotation (RFC 6749 §6, RFC 9700 §4.14.2): exactly one rotation per refresh token.
-- The first caller rotates; callers within the replay window asking for the same scope get the sealed
-- successor pair back (replay_window.lua; another scope is refused); any later use is reuse and revokes
-- the family (reuse_detection.lua). A narrower scope may be asked for, never a wider one
-- (scope_narrowing.lua).
-- KEYS: presented refresh, family, members, revoked, replay, new access, new refresh.
-- ARGV: now, client_id, requested scope ('' = unchanged), replay window ms, sealed successor pair,
--       access ttl, refresh ttl, tombstone_min_ttl, index slide slack (s).
-- Returns, when rotated, one string: slide .. '\n' .. scope .. '\n' .. user_id (not an array: Redis 6.2
-- writes each array reply of a script with its own write; a scope never holds a newline). slide is '1'
-- when the family's indexes (app, user, the sweeper's work list) should move to the new expiry, that is
-- when it moved by the slack or more since they last did (the family's 'indexed_until'); a family
-- refreshed in a tight loop slides once a slack.
-- Otherwise {'replay', sealed pair, scope, user_id} | {'replay_other_scope', user_id, scope}
-- | {'reused', client_id, user_id, n} | {'revoked'} | {'unknown'} | {'wrong_client'} | {'invalid_scope'}.
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[4]) == 1 then return {'revoked'} end
local raw = redis.call('GET', KEYS[1])
if not raw then return {'unknown'} end
local rec = cjson.decode(raw)
if rec.client_id ~= ARGV[2] then return {'wrong_client'} end
if rec.rotated_at and rec.rotated_at ~= 0 then
  local replay = replay_window_lookup(KEYS[5])
  if replay then return replay_window_answer(replay, narrow_requested(rec.scope, ARGV[3]), rec.user_id) end
  return reuse_detected(KEYS[2], KEYS[3], KEYS[4], now, tonumber(ARGV[8]))
end
local scope = narrow_requested(rec.scope, ARGV[3])
if not scope then return {'invalid_scope'} end
local at_ttl, rt_ttl, window = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[4])
rec.rotated_at = now
redis.call('SET', KEYS[1], cjson.encode(rec), 'KEEPTTL')
redis.call('SET', KEYS[6], cjson.encode({family = rec.family, client_id = rec.client_id,
  user_id = rec.user_id, scope = scope, issued_at = now, expires_at = now + at_ttl}), 'EX', at_ttl)
redis.call('SET', KEYS[7], cjson.encode({family = rec.family, client_id = rec.client_id,
  user_id = rec.user_id, scope = scope, issued_at = now, rotated_at = 0, expires_at = now + rt_ttl}),
  'EX', rt_ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], now + at_ttl, KEYS[6], now + rt_ttl, KEYS[7])
replay_window_open(KEYS[5], KEYS[3], ARGV[5], scope, window, now)
redis.call('EXPIRE', KEYS[3], rt_ttl)
redis.call('EXPIRE', KEYS[2], rt_ttl)
local slide = '0'
local indexed = tonumber(redis.call('HGET', KEYS[2], 'indexed_until')) or 0
if now + rt_ttl - indexed >= tonumber(ARGV[9]) then
  redis.call('HSET', KEYS[2], 'indexed_until', now + rt_ttl)
  slide = '1'
end
return slide .. '\n' .. scope .. '\n' .. rec.user_id
