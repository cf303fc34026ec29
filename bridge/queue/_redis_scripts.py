"""The Lua scripts of the Redis queue: each step one atomic script, as Laravel's queue does it.

Keys of one queue NAME (after the connection's prefix): `queues:NAME` (a list of ready
payloads, oldest first), `queues:NAME:delayed` and `queues:NAME:reserved` (sorted sets scored
by the Unix time the payload becomes due) and `queues:NAME:notify` (a list holding one token
per ready payload, which idle workers block on). A script touches one queue's keys only, so
on Redis Cluster all of them must share a slot (the hash tag in `{default}`).

The state they keep is Laravel's, so PHP and Python workers share a queue: a reservation
moves the list's head into `:reserved` after adding one to its `attempts` through Redis's
own cjson (the re-encoded text is the member that delete and release name), expired
delayed and reserved members go back to the list's tail with a token each, release moves a
reserved member to `:delayed`. Where bridge's scripts go further, they keep that state:

* RESERVE hands out up to `limit` jobs and first deletes the caller's finished reservations
  and migrates due members, all in one script (Laravel takes one call for each step).
* A payload cjson cannot decode, or without a numeric `attempts`, is reserved as it is (with
  attempts counted from 0) instead of making the script fail after its LPOP, which would
  lose the job: the worker then fails it into `failed_jobs` with the reason.
* RELEASE and UNRESERVE act only while the caller still holds the reservation: after it
  expired and another worker took the job, Laravel's release would queue a second copy.
"""

from __future__ import annotations

__all__ = ["CLEAR", "PUSH", "RELEASE", "RESERVE", "UNRESERVE"]

# KEYS: list, notify. ARGV: payloads. Appends each payload with one token; returns the count.
PUSH = """
for i = 1, #ARGV do
  redis.call('rpush', KEYS[1], ARGV[i])
  redis.call('rpush', KEYS[2], '1')
end
return #ARGV
"""

# KEYS: list, delayed, reserved, notify.
# ARGV: now, reserved score (or '' when reservations never expire), limit,
#       migrate limit (-1: all), count of finished members, finished members...
# Returns a flat array: job, reserved text, attempts, id for each job handed out.
RESERVE = """
local now = ARGV[1]
local finished = tonumber(ARGV[5])
for i = 1, finished do
  redis.call('zrem', KEYS[3], ARGV[5 + i])
end

local function migrate(from)
  local due
  if tonumber(ARGV[4]) < 0 then
    due = redis.call('zrangebyscore', from, '-inf', now)
  else
    due = redis.call('zrangebyscore', from, '-inf', now, 'limit', 0, ARGV[4])
  end
  for i = 1, #due do
    redis.call('zrem', from, due[i])
    redis.call('rpush', KEYS[1], due[i])
    redis.call('rpush', KEYS[4], '1')
  end
end

migrate(KEYS[2])
if ARGV[2] ~= '' then
  migrate(KEYS[3])
end

local out = {}
local score = ARGV[2] ~= '' and ARGV[2] or '+inf'
for _ = 1, tonumber(ARGV[3]) do
  local job = redis.call('lpop', KEYS[1])
  if not job then
    break
  end
  local reserved = job
  local attempts = 1
  local id = ''
  local ok, decoded = pcall(cjson.decode, job)
  if ok and type(decoded) == 'table' and type(decoded['attempts']) == 'number' then
    decoded['attempts'] = decoded['attempts'] + 1
    attempts = decoded['attempts']
    if type(decoded['id']) == 'string' then
      id = decoded['id']
    end
    reserved = cjson.encode(decoded)
  end
  redis.call('zadd', KEYS[3], score, reserved)
  redis.call('lpop', KEYS[4])
  out[#out + 1] = job
  out[#out + 1] = reserved
  out[#out + 1] = attempts
  out[#out + 1] = id
end
return out
"""

# KEYS: delayed, reserved. ARGV: reserved text, available at.
# Moves the reservation to `:delayed`; 0 (nothing moved) when the caller no longer holds it.
RELEASE = """
if redis.call('zrem', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('zadd', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

# KEYS: list, reserved, notify. ARGV: reserved text, the payload as it was before reserving.
# Puts a job never started back at the head of the list with its attempts as they were.
UNRESERVE = """
if redis.call('zrem', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('lpush', KEYS[1], ARGV[2])
redis.call('rpush', KEYS[3], '1')
return 1
"""

# KEYS: list, delayed, reserved, notify. Deletes the queue; returns how many jobs it held.
CLEAR = """
local size = redis.call('llen', KEYS[1]) + redis.call('zcard', KEYS[2])
  + redis.call('zcard', KEYS[3])
redis.call('del', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return size
"""
