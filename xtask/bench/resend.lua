-- wrk script: resends to a fixed set of users, round robin, each wrk thread
-- starting at a different offset so threads rarely hit the same user at once.
-- done() prints one machine-readable line for `cargo xtask bench`: wrk's own
-- --latency report stops at p99, and the table wants p99.9 and the error
-- counts without scraping wrk's human-readable text.
local ids = {}
local f = assert(io.open(os.getenv("BENCH_IDS")))
for line in f:lines() do ids[#ids + 1] = line end
f:close()
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY"),
  ["X-Tenant-ID"] = os.getenv("BENCH_TENANT"),
}

local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local n = 0
function init(args)
  n = (tid or 0) * 7919
end

request = function()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  return wrk.format("POST", "/v1/users/" .. id .. "/resend-invite", headers, nil)
end

-- Latencies are in microseconds; status counts answers >= 400.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d " ..
    "connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.connect, e.read, e.write, e.timeout, e.status))
end
