-- The mixed app's load: every 10th request asks for /heavy (≈10 ms of CPU), the others
-- for / (tiny). A counter, not a random draw, so every run sends the same sequence
-- (wrk -t1: one thread, one counter).
local n = 0
local tiny, heavy

-- Built in init, not at load: wrk sets the Host header (which Node requires) after
-- loading the script.
init = function(args)
  tiny = wrk.format("GET", "/")
  heavy = wrk.format("GET", "/heavy")
end

request = function()
  n = n + 1
  if n % 10 == 0 then
    return heavy
  end
  return tiny
end
