-- Shared by every wrk script here: one JSON line with the figures the benchmark keeps.
threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function summed(name)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get(name) end
  return total
end

function report(summary, latency, extra)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  local fields = string.format(
    '"requests": %d, "seconds": %.3f, "requests_per_s": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "errors": %d',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, errors)
  io.write("WRK-RESULT {" .. fields .. (extra or "") .. "}\n")
end
