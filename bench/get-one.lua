-- A steady reader: getGuestPass of one pass (GP_PASS_ID), as its own chain.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
local id = os.getenv("GP_PASS_ID")
request = function()
  return wrk.format("GET", base .. "/guest-passes/" .. id, auth)
end
