-- Rule: scope narrowing (RFC 6749 §3.3, §6). Scopes are space-separated; the order of the scope being
-- narrowed is kept. Two uses, one rule: a refresh may ask for fewer scopes, never more (§6: "MUST NOT
-- include any scope not originally granted"); a plan change keeps only the scopes the new plan allows.

-- ``granted`` narrowed to ``requested`` ('' = unchanged); nil when ``requested`` would widen it.
local function narrow_requested(granted, requested)
  if requested == '' then return granted end
  local want, have, out = {}, {}, {}
  for s in string.gmatch(requested, '%S+') do want[s] = true end
  for s in string.gmatch(granted, '%S+') do
    have[s] = true
    if want[s] then out[#out + 1] = s end
  end
  for s in pairs(want) do if not have[s] then return nil end end
  return table.concat(out, ' ')
end

-- The set of scopes in a space-separated list.
local function scope_set(list)
  local set = {}
  for s in string.gmatch(list or '', '%S+') do set[s] = true end
  return set
end

-- ``scope`` keeping only the members of ``allowed`` (a scope_set); '' when none is left.
local function narrow_to_allowed(scope, allowed)
  local out = {}
  for s in string.gmatch(scope or '', '%S+') do
    if allowed[s] then out[#out + 1] = s end
  end
  return table.concat(out, ' ')
end
