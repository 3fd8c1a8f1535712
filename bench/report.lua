-- Shared by every scenario: one JSON line with what bench/run tabulates.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

base = os.getenv("GP_BASE") or "/members/v1.0"
location = os.getenv("GP_LOCATION") or "bench-gym"
preload = tonumber(os.getenv("GP_PRELOAD") or "10000")
auth = {
  ["X-Chain-ID"] = os.getenv("GP_CHAIN_ID") or "bench-chain",
  ["X-Chain-Secret"] = os.getenv("GP_CHAIN_SECRET") or "",
}

function with_json(headers)
  local h = {}
  for k, v in pairs(headers) do h[k] = v end
  h["Content-Type"] = "application/json"
  return h
end

-- Seeded pass n (guestpass admin seed): its id, email and check-in code.
function seed_id(n) return string.format("00000000-0000-4000-8000-%012d", n) end
function seed_email(n) return string.format("seed-%d@example.invalid", n) end
local alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
function seed_code(n)
  local code = {}
  for i = 10, 1, -1 do
    local d = n % 31
    code[i] = alphabet:sub(d + 1, d + 1)
    n = math.floor(n / 31)
  end
  return table.concat(code)
end

function utc(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

thread_seed = 0
function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
  thread_seed = math.random(1, 2^30)
end
function random_seeded() return math.random(0, preload - 1) end
