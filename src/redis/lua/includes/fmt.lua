-- fmt(x): a number as an integer string (Lua would write a large one as 1.7e+12).
local fmt = function(x) return string.format('%d', x) end
