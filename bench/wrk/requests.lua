-- Request builders for the cases that need more than a fixed GET. P is set by the harness.
tid = 0
local counter = 0

local function headers(extra)
  local h = {["Authorization"] = "Bearer " .. P.token}
  if extra then h["Content-Type"] = "application/json" end
  return h
end

function init(args)
  math.randomseed(P.seed + tid)
  if P.kind == "page" then
    wrk.headers["Cookie"] = "kura_session=" .. P.cookie  -- a browser: the session, no token
  else
    wrk.headers["Authorization"] = "Bearer " .. P.token
  end
end

function request()
  counter = counter + 1
  if P.kind == "get_one" then
    local id = math.random(P.first_id, P.last_id)
    return wrk.format("GET", P.prefix .. "/bookmarks/" .. id, headers(false))
  elseif P.kind == "create" then
    local body = string.format(
      '{"url":"https://create.bench.example/%s/%d/%d","title":"bench create %d","description":"%s","tags":["%s","%s"]}',
      P.run, tid, counter, counter, P.word, P.tag1, P.tag2)
    return wrk.format("POST", P.prefix .. "/bookmarks", headers(true), body)
  elseif P.kind == "update" then
    local id = math.random(P.first_id, P.last_id)
    local body = string.format('{"title":"%s updated %d","unread":%s}', P.word, counter,
      counter % 2 == 0 and "true" or "false")
    return wrk.format("PATCH", P.prefix .. "/bookmarks/" .. id, headers(true), body)
  elseif P.kind == "delete" then
    -- Threads take interleaved ids going down from last_id, so no id is deleted twice.
    local id = P.last_id - (tid + (counter - 1) * P.threads)
    return wrk.format("DELETE", P.prefix .. "/bookmarks/" .. id, headers(false))
  elseif P.kind == "conditional" then
    local h = headers(false)
    h["If-None-Match"] = P.etag
    return wrk.format("GET", P.path, h)
  end
  if P.kind == "page" then
    return wrk.format("GET", P.path)
  end
  return wrk.format("GET", P.path, headers(false))
end
