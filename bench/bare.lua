-- bare.lua: the same requests' shape against the bare CivetWeb handler
-- (bench/bare.c), so both runs differ only in what answers them.
function request()
  return wrk.format("POST", "/api/v1/jobs/1/tasks/next", {["Origin"] = "x"}, nil)
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"errors":%d,"p50_ms":%.3f,"p99_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
