-- checkinGuest with the code of a random preloaded (active) pass.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
local headers = nil
request = function()
  headers = headers or with_json(auth)
  local body = string.format('{"checkinCode":"%s","locationId":"%s"}', seed_code(random_seeded()), location)
  return wrk.format("POST", base .. "/checkins", headers, body)
end
