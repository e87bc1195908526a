-- wrk script: POST one contract event (contract/CONTRACT.md) per request to /api/v1/events, with a
-- fresh random v4 uuid per request and entity ids drawn from a bounded pool, like loadgen's payloads.
-- The body is exactly the target size of loadgen's --payload-size (default 400 B, 4k 4096 B, ...).
--
--   wrk -t2 -c10 -d15s -s tools/loadgen/wrk/event.lua http://127.0.0.1:15083 -- [default|4k|8k|32k|64k] [POOL]
--
-- Used by scripts/bench-generator as the reference generator for loadgen's CPU cost per request.
-- No response() callback: wrk then skips parsing bodies (it still counts non-2xx/3xx statuses).

local sizes = { default = 400, ["4k"] = 4096, ["8k"] = 8192, ["32k"] = 32768, ["64k"] = 65536 }

-- The four event kinds loadgen sends, with small type-specific attributes. %s is the entity number.
local kinds = {
  { "CarCreated", "Car", "car", '"make":"Toyota","year":2021,"color":"blue","mileage":48211,"price":23999.50' },
  { "LoanCreated", "Loan", "loan", '"loanAmount":18500.00,"interestRate":5.25,"termMonths":48,"status":"pending"' },
  { "LoanPaymentSubmitted", "LoanPayment", "payment", '"loanId":"loan-000417","amount":612.40,"method":"ACH"' },
  { "ServiceDone", "Service", "service", '"carId":"car-000932","serviceType":"oil change","cost":89.99,"mileage":60123' },
}

local words = { "routine", "check", "customer", "reported", "noise", "inspected", "replaced", "filter",
  "topped", "fluids", "adjusted", "alignment", "verified", "torque", "cleaned", "sensor" }

local function filler(n)
  local parts, len, i = {}, 0, 0
  while len <= n do
    i = i + 1
    local w = words[(i % #words) + 1]
    parts[#parts + 1] = w
    len = len + #w + 1
  end
  return string.sub(table.concat(parts, " "), 1, n)
end

local function history(budget)
  local items, used, i = {}, 0, 0
  while true do
    i = i + 1
    local item = string.format('{"action":"inspection","amount":%d.%02d,"at":"2024-%02d-%02dT08:15:00Z",' ..
      '"note":"%s","odometer":%d,"seq":%d}', 10 + i * 7 % 890, i % 100, 1 + i % 12, 1 + i % 28,
      filler(20 + i % 40), 1000 * i, i)
    local cost = #item + (i > 1 and 1 or 0)
    if used + cost > budget - 64 then break end
    items[#items + 1] = item
    used = used + cost
  end
  if #items == 0 then return "" end
  return ',"history":[' .. table.concat(items, ",") .. "]"
end

-- templates[k] = { prefix, middle, suffix }: body = prefix .. uuid .. middle .. entityNumber .. suffix
local templates = {}
local pool = 10000
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

function init(args)
  local size = args[1] or "default"
  local target = sizes[size]
  if not target then error("unknown payload size " .. size) end
  pool = tonumber(args[2] or "10000")
  local uuid0, id0 = string.rep("0", 36), "000000"
  for i, k in ipairs(kinds) do
    local name, etype, prefix, attrs = k[1], k[2], k[3], k[4]
    local head = '{"eventHeader":{"uuid":"'
    local mid = '","eventName":"' .. name .. '","eventType":"' .. name ..
      '","createdDate":"2024-05-17T09:41:' .. string.format("%02d", 10 + i) ..
      '.125Z","savedDate":"2024-05-17T09:41:' .. string.format("%02d", 12 + i) ..
      '.480Z"},"eventBody":{"entities":[{"entityType":"' .. etype .. '","entityId":"' .. prefix .. "-"
    local tail = '","updatedAttributes":{' .. attrs
    local close = "}}]}}"
    local base = #head + #uuid0 + #mid + #id0 + #tail + #close
    if target >= 2048 then
      tail = tail .. history(target - base - 11 - 13)
      base = #head + #uuid0 + #mid + #id0 + #tail + #close
    end
    local fill = target - base - 11 -- ,"notes":""
    if fill >= 0 then tail = tail .. ',"notes":"' .. filler(fill) .. '"' end
    templates[i] = { head, mid, tail .. close }
  end
  -- Every wrk thread has its own Lua state: seed each differently, and differently per run.
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1e6))
  wrk.method = "POST"
  wrk.path = "/api/v1/events"
  wrk.headers["Content-Type"] = "application/json"
end

local random, format = math.random, string.format

function request()
  local t = templates[random(1, 4)]
  -- v4 uuid: version nibble 4, variant bits 10.
  local uuid = format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x", random(0, 65535), random(0, 65535),
    random(0, 65535), random(0, 4095), 32768 + random(0, 16383), random(0, 65535), random(0, 65535),
    random(0, 65535))
  local body = t[1] .. uuid .. t[2] .. format("%06d", random(0, pool - 1)) .. t[3]
  return wrk.format(nil, nil, nil, body)
end
