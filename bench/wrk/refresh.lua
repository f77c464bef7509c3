-- Refresh with rotation under wrk (one thread): every 200 answer's refresh_token goes back on a queue
-- that the next request takes from, so each token is presented exactly once and every chain stays valid
-- (as many chains as connections). A failed answer loses its chain and is counted by wrk as an error.
-- Env: MAVIO_WRK_TOKENS (a file, one refresh token a line), MAVIO_WRK_AUTH (the Authorization header) or,
-- for a public client, MAVIO_WRK_CLIENT_ID (sent in the body alone).
local queue, first, last = {}, 1, 0
for line in io.lines(os.getenv("MAVIO_WRK_TOKENS")) do
  if #line > 0 then last = last + 1; queue[last] = line end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("MAVIO_WRK_AUTH")
local client_id = os.getenv("MAVIO_WRK_CLIENT_ID")
local public = client_id and ("&client_id=" .. client_id) or ""

-- wrk asks for one request before the run that it never sends: the file holds one token more than
-- there are connections. With no token queued, the request goes without one (a counted error).
function request()
  local token = queue[first]
  if token then
    queue[first] = nil
    first = first + 1
  end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. (token or "") .. public)
end

function response(status, headers, body)
  local token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    last = last + 1
    queue[last] = token
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests %d seconds %.3f p50 %.3f p90 %.3f p99 %.3f errors %d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, e.status + e.connect + e.read + e.write + e.timeout))
end
