-- GET one path (WRK_PATH) over and over.
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
local path = os.getenv("WRK_PATH")

function request()
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  report(summary, latency)
end
