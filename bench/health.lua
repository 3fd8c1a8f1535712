-- GET /health: pings the database.
dofile(os.getenv("GP_BENCH_DIR") .. "/report.lua")
request = function() return wrk.format("GET", "/health") end
