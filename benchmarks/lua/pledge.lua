-- The pledge path: pledge EUR 25 by the API, then press "paid" on the sandbox checkout of that payment.
-- Each thread keeps the payments its pledges opened; a connection pays one when there is one, else pledges.
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
local project = os.getenv("WRK_PROJECT")
local pledge_body = '{"kind": "money", "name": "Bench Bewoner", "email": "bench@example.org", '
                    .. '"amount_cents": 2500, "provider": "sandbox"}'
local waiting = {}
paid = 0
failed = 0

function request()
  local payment = table.remove(waiting)
  if payment then
    return wrk.format("POST", "/sandbox/checkout/" .. payment,
                      {["Content-Type"] = "application/x-www-form-urlencoded"}, "outcome=paid")
  end
  return wrk.format("POST", "/api/v1/projects/" .. project .. "/pledges",
                    {["Content-Type"] = "application/json"}, pledge_body)
end

function response(status, headers, body)
  if status == 201 then
    local payment = string.match(body, '"payment":%s*{%s*"id":%s*"([%x-]+)"')
    if payment then table.insert(waiting, payment) end
  elseif status == 303 then
    paid = paid + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  report(summary, latency, string.format(', "pledges_paid": %d, "refused": %d', summed("paid"), summed("failed")))
end
