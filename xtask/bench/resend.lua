-- wrk script: resends to a fixed set of users, round robin, each wrk thread
-- starting at a different offset so threads rarely hit the same user at once.
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
