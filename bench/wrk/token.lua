-- POST /token, client_credentials with client_secret_basic.
-- wrk ... -s token.lua URL -- "<Authorization header value>" "<form body>"
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = args[1]
  wrk.body = args[2] or "grant_type=client_credentials&scope=seal%3Asign"
end
