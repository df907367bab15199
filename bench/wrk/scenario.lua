-- One wrk script for every HTTP scenario, chosen by the environment:
--   WRK_SCENARIO  me | login | register
--   WRK_TOKEN     bearer token (me)
--   WRK_USERS     login rotates over user0..user{WRK_USERS-1}@bench.example (default 1000)
--   WRK_PASSWORD  the seeded users' password, and the one registrations use
--   WRK_RUN       a tag making registration emails unique across runs (default: the time)
--   WRK_OUT       file the summary is appended to, as one JSON line
--
-- `me` sends one prebuilt request (wrk builds it once: no Lua per request). `login` and
-- `register` build each request in Lua: `register` puts a per-thread counter and the thread's
-- number into the email (reg-<run>-<thread>-<n>@bench.example), so every request registers a
-- new address and a 400 REGISTER_USER_ALREADY_EXISTS can only mean a bug.

local scenario = os.getenv("WRK_SCENARIO") or "me"
local password = os.getenv("WRK_PASSWORD") or "correct-horse-battery-staple-42"
local users = tonumber(os.getenv("WRK_USERS") or "1000")
local run = os.getenv("WRK_RUN") or tostring(os.time())

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local counter = 0

if scenario == "me" then
  wrk.method = "GET"
  wrk.path = "/users/me"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WRK_TOKEN") or "")
elseif scenario == "login" then
  local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  request = function()
    counter = counter + 1
    local i = (counter * 7919 + (tid or 0) * 104729) % users
    local body = "username=user" .. i .. "%40bench.example&password=" .. password
    return wrk.format("POST", "/auth/jwt/login", form, body)
  end
elseif scenario == "register" then
  local json = { ["Content-Type"] = "application/json" }
  request = function()
    counter = counter + 1
    local body = string.format('{"email":"reg-%s-%d-%d@bench.example","password":"%s"}',
      run, tid or 0, counter, password)
    return wrk.format("POST", "/auth/register", json, body)
  end
else
  error("unknown WRK_SCENARIO " .. scenario)
end

-- WRK_COUNT_STATUS=1: count 503 and 429 answers apart (a response() callback costs a little
-- per request, so only the flood run asks for it).
if os.getenv("WRK_COUNT_STATUS") then
  unavailable, limited = 0, 0
  response = function(status, headers, body)
    if status == 503 then
      unavailable = unavailable + 1
    elseif status == 429 then
      limited = limited + 1
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local s503, s429 = 0, 0
  for _, thread in ipairs(threads) do
    s503 = s503 + (thread:get("unavailable") or 0)
    s429 = s429 + (thread:get("limited") or 0)
  end
  local line = string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.2f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"errors":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,' ..
    '"status_503":%d,"status_429":%d}',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout + e.status,
    e.connect, e.read, e.write, e.timeout, e.status, s503, s429)
  local out = os.getenv("WRK_OUT")
  if out then
    local f = assert(io.open(out, "a"))
    f:write(line, "\n")
    f:close()
  end
  io.write(line, "\n")
end
