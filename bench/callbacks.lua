-- wrk script for bench/callbacks.sh: POSTs a valid Restcomm StatusCallback (MessageStatus
-- delivered) to /callbacks/restcomm/{token} for every "TOKEN SID" line of $CB_FILE.
-- Thread k of $WRK_THREADS takes lines k+1, k+1+T, …; a thread stops once it has
-- $WRK_CONNECTIONS more answers than lines (so every line has surely been answered); the
-- requests past its lines repeat earlier ones (duplicates, which are acknowledged too).
local tokens, sids, n = {}, {}, 0
for line in io.lines(os.getenv("CB_FILE")) do
  local t, s = line:match("^(%S+)%s+(%S+)")
  if t then n = n + 1; tokens[n] = t; sids[n] = s end
end
local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
local connections = tonumber(os.getenv("WRK_CONNECTIONS") or "64")
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local threads, created = {}, 0
function setup(thread)
  thread:set("first", created + 1)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  nextLine = first
  quota = 0
  for k = first, n, nthreads do quota = quota + 1 end
  ok, bad = 0, 0
end

function request()
  local k = nextLine
  nextLine = nextLine + nthreads
  if k > n then k = first + ((k - first) % (quota * nthreads)) end
  return wrk.format("POST", "/callbacks/restcomm/" .. tokens[k], headers,
    "MessageSid=" .. sids[k] .. "&MessageStatus=delivered&AccountSid=ACsandbox&From=%2B12435678910")
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
  if ok + bad >= quota + connections then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local okAll, badAll = 0, 0
  for _, t in ipairs(threads) do
    okAll = okAll + t:get("ok")
    badAll = badAll + t:get("bad")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("callbacks: %d lines, %d answered 2xx, %d other, in %.2f s = %.0f 2xx/s; latency p50 %.1f ms, p99 %.1f ms\n",
    n, okAll, badAll, seconds, okAll / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
