-- Rule: refresh replay window (RFC 9700 §4.14.2 allows a grace period for lost responses).
-- For MAVIO_REFRESH_REPLAY_WINDOW after a rotation, callers presenting the same refresh token again
-- (a retry, or racing refreshes) get the one successor pair back, sealed under the presented token, and
-- are never treated as reuse, but only when they ask for the very scope the rotation issued: a replay
-- asking for another scope is refused and revokes nothing (the caller audits it as suspicious). After
-- the window the sealed pair is gone and reuse detection applies.

-- The sealed successor {blob, scope} kept under ``replay`` for the presented token, or nil.
local function replay_window_lookup(replay)
  local found = redis.call('HMGET', replay, 'blob', 'scope')
  if found[1] then return found end
  return nil
end

-- A replay's answer, given what the window holds ({blob, scope}) and the scope this request would get
-- (``asked``: its requested scope narrowed from the presented token's as a rotation narrows it; nil
-- when it would widen): {'replay', blob, scope, user_id} for the same scope, else
-- {'replay_other_scope', user_id, scope}.
local function replay_window_answer(found, asked, user_id)
  if asked == found[2] then return {'replay', found[1], found[2], user_id} end
  return {'replay_other_scope', user_id, found[2]}
end

-- Keep the sealed successor for ``window_ms`` (0 = no window) and list it in the family's members.
local function replay_window_open(replay, members, blob, scope, window_ms, now)
  if window_ms <= 0 then return end
  redis.call('HSET', replay, 'blob', blob, 'scope', scope)
  redis.call('PEXPIRE', replay, window_ms)
  redis.call('ZADD', members, now + math.ceil(window_ms / 1000), replay)
end
