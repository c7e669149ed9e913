-- wrk script: GET the segment files in turn (set by origin-load.sh through
-- the SEGMENTS environment variable, space-separated paths).
local paths = {}
for p in string.gmatch(os.getenv("SEGMENTS") or "/seg.m4s", "%S+") do paths[#paths + 1] = p end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
