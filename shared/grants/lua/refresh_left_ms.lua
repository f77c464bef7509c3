-- Milliseconds left to the family's longest-lived refresh token (0: none left), for the sweeper.
-- Reads the keys' own TTLs, not the index scores, so a token is live exactly as long as Redis keeps it.
-- KEYS: family members. ARGV: the refresh-token key marker of ``grants.keys`` (':rt:').
local best = 0
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.find(key, ARGV[1], 1, true) then
    local ttl = redis.call('PTTL', key)
    if ttl > best then best = ttl end
  end
end
return best
