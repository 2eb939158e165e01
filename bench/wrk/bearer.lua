-- GET with a bearer access token (userinfo).
-- wrk ... -s bearer.lua URL -- "<access token>"
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end
