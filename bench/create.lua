-- createGuestPass with a unique email per request.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
local counter = 0
local from, untils = utc(os.time() + 3600), utc(os.time() + 3600 + 3 * 86400)
local headers = nil
request = function()
  headers = headers or with_json(auth)
  counter = counter + 1
  local body = string.format(
    '{"locationId":"%s","firstName":"Bench","lastName":"Mark","email":"bench-%d-%d@example.invalid","validFrom":"%s","validUntil":"%s"}',
    location, thread_seed, counter, from, untils)
  return wrk.format("POST", base .. "/guest-passes", headers, body)
end
