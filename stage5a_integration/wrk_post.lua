-- wrk script for the stage 5a benchmark: POST one text per request, rotating through a few
-- messages, and print one JSON line at the end (what `python -m stage5a_integration.bench` reads).
--
--   wrk -t1 -c32 -d10s -s stage5a_integration/wrk_post.lua http://127.0.0.1:8000/predict

local texts = {
  "WINNER! You have been selected for a 1000 prize. Call 09061701461 now to claim",
  "Hi, I was charged twice for my subscription this month, can you refund one payment?",
  "The app crashes every time I open the settings page",
  "Could you add a dark mode? Thanks!",
  "FREE entry in a weekly competition to win cup final tickets. Text WIN to 87121",
  "Здравствуйте, не проходит оплата картой, пишет ошибку банка",
  "See you at six at the usual place",
  "URGENT! Your mobile number has won a cash award. Call 09050000321",
}
local bodies = {}
for i, text in ipairs(texts) do
  bodies[i] = '{"texts": ["' .. text .. '"]}'  -- the texts hold no quotes or backslashes
end
local headers = { ["Content-Type"] = "application/json" }

local sent = 0

function request()
  sent = sent + 1
  return wrk.format("POST", nil, headers, bodies[(sent % #bodies) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "status": %d}, "latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
