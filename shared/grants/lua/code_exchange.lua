-- A code exchanged in one step (single Redis only: it touches the family's, the app's, the user's and the
-- work list's slots, and learns the user's keys from the code). The code is taken once (code_single_use),
-- and only by the client it was issued to (another client's request leaves it as it is: {'wrong_client'});
-- when its record binds to the request, the family is counted (app_add_family, user_touch_family,
-- work_list_add) and its first pair issued (issue_first_pair), the records built here from the code's.
-- The record binds when it names this client, has not expired, holds this exact redirect URI, and has
-- this code_challenge (S256) or, when no verifier was given, none. That is never looser than the token
-- service's own check: a record that does not bind comes back as it is, the code consumed, for the
-- caller to check and refuse (or issue, when the request omitted a redirect_uri it may omit) as it does
-- on a Redis Cluster.
-- KEYS: code, family, members, revoked, code_scope, app families, app users, work list, access, refresh.
-- ARGV: now, hold_ttl, tombstone_min_ttl, client_id, redirect_uri, challenge ('' = no verifier),
--       access ttl, refresh ttl, the user's families key before and after the user id, the user's grants
--       key before and after it, the work list member before the user id.
-- Returns 'issued\n' .. the CodeRecord JSON | the CodeRecord JSON (not bound) | code_single_use's other
-- replies. A scope holding openid keeps the record's OpenID Connect session with the family ('oidc').
local now = tonumber(ARGV[1])
local taken = code_single_use({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]},
  {ARGV[1], ARGV[2], ARGV[3], ARGV[4]})
if type(taken) ~= 'string' then return taken end
local rec = cjson.decode(taken)
local challenge = rec.code_challenge
if type(challenge) ~= 'string' then challenge = '' end
local binds = rec.client_id == ARGV[4] and tonumber(rec.expires_at) > now and rec.redirect_uri == ARGV[5]
if challenge == '' then
  binds = binds and ARGV[6] == ''
else
  binds = binds and rec.code_challenge_method == 'S256' and challenge == ARGV[6]
end
if not binds then return taken end
local family, client, user, scope = rec.family, rec.client_id, rec.user_id, rec.scope
local at_ttl, rt_ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
local expires_at = now + rt_ttl
app_add_family({KEYS[6], KEYS[7]}, {family, user, expires_at})
user_touch_family({ARGV[9] .. user .. ARGV[10], ARGV[11] .. user .. ARGV[12]},
  {family, expires_at, client, now, 'NX'})
work_list_add({KEYS[8]}, {expires_at, ARGV[13] .. user})
local access = cjson.encode({family = family, client_id = client, user_id = user, scope = scope,
  issued_at = now, expires_at = now + at_ttl})
local refresh = cjson.encode({family = family, client_id = client, user_id = user, scope = scope,
  issued_at = now, rotated_at = 0, expires_at = expires_at})
local oidc = ''
if string.find(' ' .. scope .. ' ', ' openid ', 1, true) then
  oidc = cjson.encode({auth_time = tonumber(rec.auth_time) or 0, sid = rec.sid or '', claims = rec.claims or ''})
end
-- issue_first_pair refuses only a tombstoned family, which code_single_use has already ruled out
issue_first_pair({KEYS[2], KEYS[3], KEYS[4], KEYS[9], KEYS[10]},
  {now, access, at_ttl, refresh, rt_ttl, client, user, scope, oidc})
return 'issued\n' .. taken
