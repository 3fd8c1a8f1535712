-- getGuestPass of a random preloaded pass.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
request = function()
  return wrk.format("GET", base .. "/guest-passes/" .. seed_id(random_seeded()), auth)
end
