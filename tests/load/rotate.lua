-- wrk script: send the requests listed in a file in rotation, count every response that is
-- not 2xx, and print one JSON line of results for benchmarks/load.py to read.
--
--   wrk -s tests/load/rotate.lua <url> -- <requests file>
--
-- The file has one request a line: METHOD <tab> PATH [<tab> BODY]. The body is one line
-- (JSON, with its newlines escaped). Headers (Authorization, Content-Type) come from -H.
-- Each wrk thread starts at a different place in the rotation.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "r"), "cannot open the requests file " .. tostring(args[1]))
   rotation = {}
   for line in file:lines() do
      local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
      if method then
         if body == "" then body = nil end
         table.insert(rotation, wrk.format(method, path, nil, body))
      end
   end
   file:close()
   assert(#rotation > 0, "no requests in " .. args[1])
   next_request = (id * 7919) % #rotation -- a prime stride: threads start far apart
   non2xx, first_bad = 0, 0
end

function request()
   next_request = next_request % #rotation + 1
   return rotation[next_request]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_bad == 0 then first_bad = status end
   end
end

function done(summary, latency, requests)
   local bad, first = 0, 0
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("non2xx")
      if first == 0 then first = thread:get("first_bad") end
   end
   local e = summary.errors
   io.write(string.format(
      'wrk-result {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
      '"write":%d,"timeout":%d,"non2xx":%d,"first_bad_status":%d,' ..
      '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
      e.timeout, bad, first, latency:percentile(50), latency:percentile(99), latency.max))
end
