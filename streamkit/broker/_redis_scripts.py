"""Lua scripts the Redis backend runs server-side, each atomic.

Every entry of a topic's stream stores the id of the entry before it (field ``p``). Appending
reads the last id and adds in one script, so the chain holds with many publishers, and a
subscriber checks each entry's ``p`` against the last id it saw: any gap -- trimmed by
retention, or a stream recreated after a restart -- shows as a mismatch, never as silence.
Times come from the server's ``TIME``, so workers' clocks need not agree.
"""

from __future__ import annotations

APPEND = """
-- KEYS[1]: the topic's stream.
-- ARGV: max length or '', '~' or '=', max age in ms or '', ttl in ms or '', batch token,
--       then (kind, payload) pairs.
local key = KEYS[1]
local max_len, mode, max_age, ttl, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local prev = '0-0'
local newest = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
if #newest > 0 then
  prev = newest[1][1]
  local fields = newest[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 't' and fields[i + 1] == token then
      -- A retried batch that was stored though its reply got lost: answer with its ids.
      local stored = redis.call('XREVRANGE', key, '+', '-', 'COUNT', (#ARGV - 5) / 2)
      local ids = {}
      for j = #stored, 1, -1 do ids[#ids + 1] = stored[j][1] end
      return ids
    end
  end
end
local ids = {}
for i = 6, #ARGV, 2 do
  local command = {'XADD', key}
  if max_len ~= '' then
    command[#command + 1] = 'MAXLEN'
    command[#command + 1] = mode
    command[#command + 1] = max_len
  end
  command[#command + 1] = '*'
  command[#command + 1] = 'p'
  command[#command + 1] = prev
  command[#command + 1] = ARGV[i]
  command[#command + 1] = ARGV[i + 1]
  if i + 1 == #ARGV then
    command[#command + 1] = 't'
    command[#command + 1] = token
  end
  prev = redis.call(unpack(command))
  ids[#ids + 1] = prev
end
if max_age ~= '' then
  local now = redis.call('TIME')
  local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(max_age)
  if cutoff > 0 then
    redis.call('XTRIM', key, 'MINID', mode, string.format('%d', cutoff))
  end
end
if ttl ~= '' then
  redis.call('PEXPIRE', key, ttl)
end
return ids
"""

JOIN = """
-- KEYS[1]: the topic's subscriber set; KEYS[2]: its stream.
-- ARGV: lease in ms, topic ttl in ms or '', then the subscribers to (re)register.
-- Returns whether the stream exists.
local now = redis.call('TIME')
local expires = string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1]))
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], expires, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  -- A topic being read never expires under its readers.
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return redis.call('EXISTS', KEYS[2])
"""

COUNT = """
-- KEYS[1]: the topic's subscriber set. Returns how many leases are current.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', ms))
return redis.call('ZCARD', KEYS[1])
"""
