-- wrk script: POSTs the seed's chat request (non-streaming) and prints one machine-readable line.
-- Used by run.sh as: wrk -t1 -cC -dD -s chat.lua URL
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model": "gpt-4", "messages": [{"role": "system", "content": "You are a helpful assistant."}, '
  .. '{"role": "user", "content": "Explain quantum computing in simple terms."}], '
  .. '"temperature": 0.7, "max_tokens": 500, "stream": false}'

done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRK {"requests":%d,"secs":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"errors":%d,"non2xx":%d}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
