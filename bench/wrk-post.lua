-- npm run bench:issuer's load script for wrk (Debian's wrk 4.1): POST /v1/token with the bench's
-- body, each request signed in with the next of the bench's API keys (one caller may mint at most
-- 10,000 tokens a minute), and, at the end, one JSON line the bench reads.
-- BENCH_KEYS: the API keys, comma-separated. BENCH_BODY: the request body.
-- BENCH_PAUSE_MS (optional): after each answer, a connection waits a random 0 to 2 x BENCH_PAUSE_MS
-- milliseconds (BENCH_PAUSE_MS on average) before its next request: a paced load below what the server
-- can do, for latency. Without it each connection sends its next request at once (saturation).

local keys = {}
for key in string.gmatch(os.getenv("BENCH_KEYS") or "", "[^,]+") do
  keys[#keys + 1] = key
end
assert(#keys > 0, "BENCH_KEYS names no API key")
local body = assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set")

-- One list of prepared requests, taken in turn: formatting each request anew would cost the
-- generator CPU that the servers under test share. Made in init(), once wrk knows the Host header.
local prepared = {}
local next_request = 0

function init(args)
  for i, key in ipairs(keys) do
    prepared[i] = wrk.format("POST", "/v1/token", {
      ["Host"] = wrk.headers["Host"],
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key,
    }, body)
  end
end

local pause = tonumber(os.getenv("BENCH_PAUSE_MS") or "")
if pause then
  -- wrk paces a connection only when the script defines delay(); its latency excludes the wait.
  function delay()
    return math.random(0, 2 * pause)
  end
end

function request()
  next_request = next_request % #prepared + 1
  return prepared[next_request]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
