-- Save one consent page (RFC 6749 §10.12): its own key with its own TTL, listed last in the user's pages.
-- When the user has more open pages than the cap, the oldest go (their keys too): a user opening pages
-- in a loop holds at most the cap, and a save never reads the other pages.
-- KEYS: the user's page list, the page. ARGV: list member, record JSON, ttl, cap, page key prefix (the
-- page's key without its signature; the dropped pages' keys are in the user's slot too).
-- Returns the number of pages dropped.
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ttl)
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
local over = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[4])
for _ = 1, over do
  local oldest = redis.call('LPOP', KEYS[1])
  redis.call('DEL', ARGV[5] .. string.match(oldest, '^%S+'))
end
if over < 0 then return 0 end
return over
