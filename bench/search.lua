-- searchGuestPasses by locationId + email of a random preloaded pass.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
request = function()
  local path = string.format("%s/guest-passes?locationId=%s&email=%s", base, location,
    seed_email(random_seeded()))
  return wrk.format("GET", path, auth)
end
