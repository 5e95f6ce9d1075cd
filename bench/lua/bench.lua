-- wrk script for aftercare's HTTP benchmarks (run by bench/load.py; see bench/README.md).
--
-- Environment:
--   BENCH_MODE    "get" (the same request every time) or "mood" (POST a new mood entry:
--                 a fresh random v4 UUID as client_id in every request)
--   BENCH_COOKIE  a Cookie header to send (the patient's session), optional
--   BENCH_SESSIONS  for mood posts: "cookie|csrf" pairs separated by newlines, one per signed-in
--                 patient; requests take them in turn (each thread starting at its own place)
--   BENCH_RESULT  where done() writes the run's figures as JSON
--   BENCH_ACKED   where done() writes the client_id of every 201 answer, one a line (mood)
--
-- Defining response() makes wrk hand every response to Lua, which costs wrk a little;
-- we need it to count statuses and to know which entries the server acknowledged.

local mode = os.getenv("BENCH_MODE") or "get"
local cookie = os.getenv("BENCH_COOKIE")
local sessions_text = os.getenv("BENCH_SESSIONS") or ""
local result_path = os.getenv("BENCH_RESULT")
local acked_path = os.getenv("BENCH_ACKED")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

-- Seed each thread's generator from the kernel, so no two threads or runs share UUIDs.
local function seed_random()
  local urandom = assert(io.open("/dev/urandom", "rb"))
  local bytes = urandom:read(6)
  urandom:close()
  local seed = 0
  for i = 1, #bytes do
    seed = seed * 256 + bytes:byte(i)
  end
  math.randomseed(seed)
end

-- One header table per signed-in patient, for mood posts.
local session_headers = {}
local next_session = 1

function init(args)
  statuses = {}
  acked = {}
  seed_random()
  if cookie and cookie ~= "" then
    wrk.headers["Cookie"] = cookie
  end
  if mode == "mood" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    for line in sessions_text:gmatch("[^\n]+") do
      local session_cookie, csrf = line:match("^([^|]*)|(.*)$")
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      headers["Cookie"] = session_cookie ~= "" and session_cookie or nil
      headers["X-CSRFToken"] = csrf ~= "" and csrf or nil
      session_headers[#session_headers + 1] = headers
    end
    if #session_headers == 0 then
      session_headers[1] = wrk.headers
    end
    next_session = ((number or 1) - 1) % #session_headers + 1
  end
end

local function uuid4()
  local r = math.random
  -- Version 4 in the third group, variant 10xx in the fourth.
  return string.format(
    "%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    r(0, 0xffff), r(0, 0xffff), r(0, 0xffff), r(0, 0xfff),
    r(0x8000, 0xbfff), r(0, 0xffff), r(0, 0xffff), r(0, 0xffff)
  )
end

-- Only mood posts need a request() of their own: without one, wrk reuses one prepared request.
if mode == "mood" then
  function request()
    local body = string.format('{"client_id":"%s","score":%d,"note":"","tags":[]}', uuid4(), math.random(0, 10))
    local headers = session_headers[next_session]
    next_session = next_session % #session_headers + 1
    return wrk.format(nil, nil, headers, body)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if mode == "mood" and status == 201 then
    local id = body:match('"client_id":%s*"([%x%-]+)"')
    if id then
      acked[#acked + 1] = id
    end
  end
end

local function json_object(tbl)
  local parts = {}
  for key, value in pairs(tbl) do
    local text = type(value) == "table" and json_object(value) or string.format("%.17g", value)
    parts[#parts + 1] = string.format('"%s":%s', tostring(key), text)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local counts = {}
  local out = acked_path and acked_path ~= "" and assert(io.open(acked_path, "w"))
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    if out then
      for _, id in ipairs(thread:get("acked")) do
        out:write(id, "\n")
      end
    end
  end
  if out then
    out:close()
  end
  local result = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      p50 = latency:percentile(50),
      p95 = latency:percentile(95),
      p99 = latency:percentile(99),
      mean = latency.mean,
      max = latency.max,
    },
    statuses = counts,
  }
  local text = json_object(result)
  if result_path and result_path ~= "" then
    local file = assert(io.open(result_path, "w"))
    file:write(text, "\n")
    file:close()
  else
    io.write(text, "\n")
  end
end
