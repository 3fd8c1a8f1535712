-- Failed authentication from everywhere: every request a fresh random chain
-- ID (of FLOOD_IDLEN characters) with a wrong secret, and, when FLOOD_XFF=1,
-- a random X-Forwarded-For address (the server trusts 127.0.0.1 as a proxy
-- in bench/auth-flood, so each request is also a fresh client address).
-- What it measures is whether the throttle's and the negative cache's state
-- stays bounded; every answer is 401 or 429.
local idlen = tonumber(os.getenv("FLOOD_IDLEN") or "24")
local xff = os.getenv("FLOOD_XFF") == "1"
-- One ID for every request instead (known or not): with random addresses
-- never throttled, so what it measures is the cost of that ID's 401.
local fixed = os.getenv("FLOOD_ID")
local n = 0

function setup(thread)
  thread:set("seed", math.random(1, 1e9))
end

function init(args)
  math.randomseed(seed or os.time())
end

function request()
  n = n + 1
  local id = fixed or string.format("flood-%d-%d-", math.random(1, 1e9), n)
  if not fixed and #id < idlen then
    id = id .. string.rep("x", idlen - #id)
  end
  local headers = {
    ["X-Chain-ID"] = id,
    ["X-Chain-Secret"] = "wrong-secret-0123456789abcdef",
  }
  if xff then
    headers["X-Forwarded-For"] = string.format("%d.%d.%d.%d",
      math.random(1, 223), math.random(0, 255), math.random(0, 255), math.random(1, 254))
  end
  return wrk.format("GET", "/members/v1.0/guest-passes", headers)
end
