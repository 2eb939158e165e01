-- POST a fixed body read from a file, with a bearer token (e.g. a multipart upload to seal).
-- wrk ... -s upload.lua URL -- "<access token>" "<Content-Type>" "<path of the body>"
function init(args)
  local file = assert(io.open(args[3], "rb"))
  wrk.body = file:read("*all")
  file:close()
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = args[2]
end
