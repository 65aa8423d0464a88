-- Signed Stripe events, one per open payment (WRK_EVENTS: "signature<TAB>body" lines). Thread i of n delivers
-- lines i, i+n, ... (n is WRK_THREADS); a thread that has delivered all of its events stops.
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
local counter = 0
local events = {}
fulfilled = 0
failed = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local n, threads_n = 0, tonumber(os.getenv("WRK_THREADS"))
  for line in io.lines(os.getenv("WRK_EVENTS")) do
    if n % threads_n == id then table.insert(events, line) end
    n = n + 1
  end
end

function request()
  local line = table.remove(events)
  if not line then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local signature, body = string.match(line, "^([^\t]+)\t(.*)$")
  return wrk.format("POST", "/api/v1/webhooks/stripe",
                    {["Content-Type"] = "application/json", ["Stripe-Signature"] = signature}, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"outcome"', 1, true) and not string.find(body, "duplicate", 1, true) then
    fulfilled = fulfilled + 1
  elseif status ~= 200 then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  report(summary, latency, string.format(', "fulfilled": %d, "refused": %d', summed("fulfilled"), summed("failed")))
end
