-- The body of a per-item script (scripts.PER_ITEM, after slice.lua and the item's script as the local
-- function step): step once per item, each on its own slice of KEYS and ARGV.
-- ARGV: keys per item, arguments per item, then every item's arguments in turn. KEYS: every item's keys.
-- Returns every item's reply, in order.
local k, a = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 0, #KEYS / k - 1 do
  out[i + 1] = step(slice(KEYS, i * k + 1, i * k + k), slice(ARGV, 3 + i * a, 2 + i * a + a))
end
return out
