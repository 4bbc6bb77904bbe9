-- wrk script: the benchmark's realistic 8-field form post, one new email per
-- request so that every post is a valid, distinct submission (two threads or
-- two runs never send the same userId at once). After "--", a refusal to
-- measure instead: "honeypot" (the hidden field filled: a fake success),
-- "bademail" (an invalid email: 303 to the failure page) or "foreign" (an
-- Origin outside the allow list: 403). The signed userIds come from the Lua
-- file named by BENCH_UIDS (bench/uids.py writes it), each thread taking every
-- other one in turn.
math.randomseed(os.time())
local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("id", tostring(math.random(100000, 999999)) .. "t" .. threads)
   thread:set("thread_index", threads - 1)
end
local n = 0
local mode = "post"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Origin"] = "https://www.example.com"
local uids, tid = nil, 0
function init(args)
   uids = dofile(os.getenv("BENCH_UIDS"))
   tid = thread_index or 0
   mode = args[1] or "post"
   if mode == "foreign" then
      wrk.headers["Origin"] = "https://www.example.net"
   end
end
request = function()
   n = n + 1
   local at = mode == "bademail" and "-at-" or "%40"
   local uid = uids[((n - 1) * 2 + tid) % #uids + 1]
   local body = "email=bench" .. id .. "-" .. n .. at .. "example.com&first=Ann&last=Lee" ..
      "&city=Paris&title=Head+of+Growth&sector=software&optin=yes&size=42&uid=" .. uid
   if mode == "honeypot" then
      body = body .. "&website=http%3A%2F%2Fspam.example"
   end
   return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
   io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d requests=%d\n",
      summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
      latency:percentile(99) / 1000,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      summary.errors.status, summary.requests))
end
