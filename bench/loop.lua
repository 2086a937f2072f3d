-- loop.lua: one wrk connection per labeler, alternating "lease the next
-- task" and "submit a judgment for it". bench/run.py fills in the
-- credentials; each wrk thread drives one connection (-t N -c N), so a
-- thread's Lua state is one labeler.
local creds = CREDENTIALS
local job = JOB_ID
local origin = ORIGIN
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("me", counter)
  table.insert(threads, thread)
end

function init(args)
  local c = creds[me]
  base = {["Cookie"] = "arbiter_session=" .. c.cookie, ["X-CSRF-Token"] = c.csrf,
          ["Origin"] = origin}
  json = {["Cookie"] = base["Cookie"], ["X-CSRF-Token"] = c.csrf, ["Origin"] = origin,
          ["Content-Type"] = "application/json"}
  task = nil
  leases, submits, empty, errors = 0, 0, 0, 0
  n = 0
end

function request()
  if task == nil then
    return wrk.format("POST", "/api/v1/jobs/" .. job .. "/tasks/next", base, nil)
  end
  n = n + 1
  local winner = (n % 2 == 0) and "a" or "b"
  local body = '{"answers":{"better":{"winner":"' .. winner .. '"},"quality":{"a":' ..
               (n % 5 + 1) .. ',"b":' .. ((n + 2) % 5 + 1) .. '}}}'
  return wrk.format("POST", "/api/v1/tasks/" .. task .. "/judgment", json, body)
end

function response(status, headers, body)
  if task == nil then
    if status == 200 then
      task = string.match(body, '"task":{"id":(%d+)')
      leases = leases + 1
    elseif status == 204 then
      empty = empty + 1
    else
      errors = errors + 1
    end
  else
    if status == 201 then submits = submits + 1 else errors = errors + 1 end
    task = nil
  end
end

function done(summary, latency, requests)
  local l, s, e, z = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    l = l + t:get("leases")
    s = s + t:get("submits")
    e = e + t:get("errors")
    z = z + t:get("empty")
  end
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"leases":%d,"submits":%d,"errors":%d,"empty":%d,' ..
    '"socket_errors":%d,"p50_ms":%.3f,"p99_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, l, s, e, z,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
