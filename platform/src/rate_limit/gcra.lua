-- The generic cell rate algorithm over one or more limits in one atomic step: a request is
-- admitted only when every limit admits it, and only then is every limit charged, so a refused
-- request costs nothing. Time comes from Redis, so replicas with skewed clocks agree.
--
-- KEYS[i]      state of limit i: its theoretical arrival time (TAT), microseconds since the epoch
-- ARGV[2i-1]   emission interval of limit i in microseconds (window / quantity)
-- ARGV[2i]     burst capacity of limit i in microseconds (interval * quantity)
-- ARGV[2n+1]   optional: 'peek' answers as for a request without charging any limit
--
-- Returns one {refused, available, wait} per limit: refused is 1 when this limit refused the
-- request, available the requests it would still admit now, and wait the microseconds until it
-- admits one more. A key lives only until its TAT has passed, when it would read as new anyway.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local charge = ARGV[2 * #KEYS + 1] ~= 'peek'
local tats, intervals, capacities = {}, {}, {}
local admitted = true
for i = 1, #KEYS do
  intervals[i] = tonumber(ARGV[2 * i - 1])
  capacities[i] = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat == nil or tat < now then
    tat = now
  end
  tats[i] = tat
  if tat + intervals[i] - capacities[i] > now then
    admitted = false
  end
end

local verdicts = {}
for i = 1, #KEYS do
  local interval, capacity, tat = intervals[i], capacities[i], tats[i]
  local refused = 0
  if tat + interval - capacity > now then
    refused = 1
  elseif admitted and charge then
    tat = tat + interval
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
  end
  local available = math.floor((now + capacity - tat) / interval)
  if available < 0 then
    available = 0
  end
  local wait = tat - capacity + (available + 1) * interval - now
  verdicts[i] = { refused, available, wait }
end
return verdicts
