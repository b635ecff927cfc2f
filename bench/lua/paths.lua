-- Requests drawn from a file of paths, one a line ("path" or "path<TAB>etag"), passed after
-- "--" on wrk's command line. Each thread starts at its own offset and walks the whole list,
-- so a run of N requests over M paths asks each path about N/M times, never in a burst.
-- With an etag, the request is a conditional GET (If-None-Match) that should answer 304.
-- Every request says it came through the TLS proxy (X-Forwarded-Proto), as in production.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local paths = {}
local etags = {}
local i = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local path, etag = line:match("^([^\t]+)\t?(.*)$")
    if path then
      table.insert(paths, path)
      table.insert(etags, etag or "")
    end
  end
  file:close()
  i = ((id or 1) - 1) * math.floor(#paths / 7)
end

function request()
  i = (i % #paths) + 1
  local headers = { ["X-Forwarded-Proto"] = "https" }
  if etags[i] ~= "" then
    headers["If-None-Match"] = etags[i]
  end
  return wrk.format("GET", paths[i], headers)
end
