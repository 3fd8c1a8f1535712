-- The flood of issue 11: deep pages of a whole chain, the most a search may cost.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
request = function()
  return wrk.format("GET", base .. "/guest-passes?offset=9900&limit=100", auth)
end
