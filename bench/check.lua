-- wrk script for scripts/bench: sends one kind of request and checks every response.
--
--   wrk ... -s bench/check.lua URL -- METHOD PATH STATUS KIND EXPECT [SESSIONS_FILE]
--
-- KIND: "body" (EXPECT is a plain substring of the body), "pattern" (a Lua pattern the body
-- must match) or "location" (the Location header must equal EXPECT). SESSIONS_FILE, when
-- given, has one line per session: a Cookie header value, then optionally a TAB and an
-- application/x-www-form-urlencoded body; requests take the lines round-robin. A line that
-- starts with "Authorization: " sends that header instead of a Cookie (nginx auth_basic).
-- A response with another status or without the expected text is a mismatch. done() prints
-- one "BENCH key=value ..." line (all threads summed) for scripts/bench to parse.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local requests = {}
local next_request = 1
local expected_status, kind, expected

mismatches = 0
checked = 0
first_mismatch = ""

local function read_sessions(path)
  local lines = {}
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then
      local cookie, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(lines, { cookie = cookie or line, body = body })
    end
  end
  file:close()
  return lines
end

function init(args)
  local method, path = args[1], args[2]
  expected_status = tonumber(args[3])
  kind, expected = args[4], args[5]
  assert(method and path and expected_status and kind and expected, "bad arguments")
  assert(kind == "body" or kind == "pattern" or kind == "location", "bad KIND " .. kind)
  local sessions = { { cookie = nil, body = nil } }
  if args[6] and args[6] ~= "" then
    sessions = read_sessions(args[6])
    assert(#sessions > 0, "no sessions in " .. args[6])
  end
  for _, session in ipairs(sessions) do
    local headers = {}
    local authorization = session.cookie and session.cookie:match("^Authorization: (.*)$")
    if authorization then
      headers["Authorization"] = authorization
    elseif session.cookie and session.cookie ~= "" then
      headers["Cookie"] = session.cookie
    end
    if session.body then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
    end
    table.insert(requests, wrk.format(method, path, headers, session.body))
  end
end

function request()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end

local function header(headers, name)
  for key, value in pairs(headers) do
    if key:lower() == name then
      return value
    end
  end
  return nil
end

function response(status, headers, body)
  checked = checked + 1
  local ok = status == expected_status
  if ok then
    if kind == "body" then
      ok = body ~= nil and body:find(expected, 1, true) ~= nil
    elseif kind == "pattern" then
      ok = body ~= nil and body:find(expected) ~= nil
    else
      ok = header(headers, "location") == expected
    end
  end
  if not ok then
    mismatches = mismatches + 1
    if first_mismatch == "" then
      local snippet = (body or ""):sub(1, 120):gsub("[%c%s]+", " ")
      first_mismatch = "status " .. status .. " location " ..
          tostring(header(headers, "location")) .. " body " .. snippet
    end
  end
end

function done(summary, latency, _)
  local bad, count, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("mismatches") or 0)
    count = count + (thread:get("checked") or 0)
    local f = thread:get("first_mismatch") or ""
    if first == "" then
      first = f
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d checked=%d rps=%.2f p50_ms=%.3f p99_ms=%.3f mismatches=%d " ..
    "socket_errors=%d status_errors=%d\n",
    summary.requests, count, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad, e.connect + e.read + e.write + e.timeout, e.status))
  if first ~= "" then
    io.write("BENCH_FIRST_MISMATCH " .. first .. "\n")
  end
end
