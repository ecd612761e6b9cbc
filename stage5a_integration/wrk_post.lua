-- wrk script for the stage 5a benchmark: POST one text per request, each a line of a bodies file
-- in turn (`python -m stage5a_integration.bench` writes thousands of distinct texts there), and
-- print one JSON line at the end (what the bench reads).
--
--   wrk -t1 -c32 -d10s -s stage5a_integration/wrk_post.lua http://127.0.0.1:8000/predict -- BODIES
--
-- BODIES holds one JSON request body per line, e.g. {"texts": ["See you at six"]}.

local bodies = {}
local headers = { ["Content-Type"] = "application/json" }
local sent = 0

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s wrk_post.lua URL -- BODIES_FILE")
  end
  for line in io.lines(path) do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  if #bodies == 0 then
    error(path .. " holds no request body")
  end
end

function request()
  sent = sent + 1
  return wrk.format("POST", nil, headers, bodies[((sent - 1) % #bodies) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "status": %d}, "latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
