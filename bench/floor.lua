-- An unknown endpoint: the 404 envelope, no authentication, no database. The
-- ceiling of this stack on this machine; every other scenario is a ratio of it.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
request = function() return wrk.format("GET", base .. "/no-such-endpoint") end
