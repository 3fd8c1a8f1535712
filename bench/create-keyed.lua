-- createGuestPass with a unique email and a fresh Idempotency-Key per request:
-- what keys cost over a plain create (the key is looked up, then stored with
-- the pass in the same transaction).
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
local counter = 0
local from, untils = utc(os.time() + 3600), utc(os.time() + 3600 + 3 * 86400)
local base_headers = nil
request = function()
  base_headers = base_headers or with_json(auth)
  counter = counter + 1
  local headers = {}
  for k, v in pairs(base_headers) do headers[k] = v end
  headers["Idempotency-Key"] = string.format("bench-%d-%d", thread_seed, counter)
  local body = string.format(
    '{"locationId":"%s","firstName":"Bench","lastName":"Mark","email":"bench-keyed-%d-%d@example.invalid","validFrom":"%s","validUntil":"%s"}',
    location, thread_seed, counter, from, untils)
  return wrk.format("POST", base .. "/guest-passes", headers, body)
end
