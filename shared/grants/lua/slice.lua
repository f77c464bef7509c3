-- A library for the scripts made of other scripts (scripts.SEQUENCES, scripts.PER_ITEM): each step runs
-- on its own slice of the caller's KEYS and ARGV.
local function slice(t, from, to)
  local out = {}
  for i = from, to do out[#out + 1] = t[i] end
  return out
end
