-- Code exchange with PKCE under wrk (one thread): each request takes the next (code, verifier) pair from
-- a file, so each code is presented exactly once. When the last pair has been answered the thread
-- stops and prints "WRK exchange done" (bench.wrk_load then ends wrk with SIGINT, which cuts its sleep
-- short). A connection that finds no pair left sends nothing and waits for the stop.
-- Env: MAVIO_WRK_CODES (a file, "code verifier" a line), MAVIO_WRK_AUTH (the Authorization header),
-- MAVIO_WRK_REDIRECT (the redirect_uri the codes were issued for), MAVIO_WRK_EXPECT (what a successful
-- answer's body holds: '"refresh_token"' unless set; '"id_token"' for the exchange with openid).
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } mavio_timespec;
  int clock_gettime(int clock_id, mavio_timespec *tp);
]]
local ts = ffi.new("mavio_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local pairs_, next_, loaded = {}, 1, 0
for line in io.lines(os.getenv("MAVIO_WRK_CODES")) do
  local code, verifier = line:match("^(%S+)%s+(%S+)$")
  if code then loaded = loaded + 1; pairs_[loaded] = { code, verifier } end
end
local expect = os.getenv("MAVIO_WRK_EXPECT") or '"refresh_token"'
local redirect = os.getenv("MAVIO_WRK_REDIRECT"):gsub("[^%w%-%._~]", function(c)
  return string.format("%%%02X", string.byte(c))
end)

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("MAVIO_WRK_AUTH")

-- wrk asks for one request before the run that it never sends (it checks the script): the file holds
-- one pair more than is exchanged, and the clock starts at the second request asked for.
asked, ok, failed, started, finished = 0, 0, 0, 0, 0
expected = loaded - 1

function request()
  asked = asked + 1
  if asked == 2 then started = now() end
  local pair = pairs_[next_]
  if not pair then return "" end
  pairs_[next_] = nil
  next_ = next_ + 1
  return wrk.format(nil, nil, nil, "grant_type=authorization_code&code=" .. pair[1] ..
    "&code_verifier=" .. pair[2] .. "&redirect_uri=" .. redirect)
end

function response(status, headers, body)
  if status == 200 and body:find(expect, 1, true) then ok = ok + 1 else failed = failed + 1 end
  if ok + failed == expected then
    finished = now()
    io.write("WRK exchange done\n")
    io.flush()
    wrk.thread:stop()
  end
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

-- A code never answered (a lost connection) is an error, and the window is then wrk's whole run.
function done(summary, latency, requests)
  local t = threads[1]
  local answered, finished = t:get("ok") + t:get("failed"), t:get("finished")
  local seconds = finished > 0 and finished - t:get("started") or summary.duration / 1e6
  local expected = t:get("expected")
  io.write(string.format("WRK requests %d seconds %.6f p50 %.3f p90 %.3f p99 %.3f errors %d\n",
    expected, seconds, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, t:get("failed") + expected - answered))
end
