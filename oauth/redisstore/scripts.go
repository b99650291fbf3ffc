package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts of the multi-step changes. Each runs atomically in one
// round trip (EVALSHA). Times are Unix milliseconds; ARGV[1] is always the
// store clock's now. A record is a hash with its JSON in field d and its
// expiry in x (0 = never); scripts read x, never the JSON.

// luaLib is shared by the scripts that need it.
const luaLib = `
local now = tonumber(ARGV[1])
local function live(x)
  if not x then return false end
  x = tonumber(x)
  return x == 0 or x > now
end
local function setttl(key, ttl)
  ttl = tonumber(ttl)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
end
-- index adds member to the set at key and keeps the set at least as long
-- as the record it indexes (ttl ms; 0: forever).
local function index(key, member, ttl)
  ttl = tonumber(ttl)
  local cur = redis.call('PTTL', key)
  redis.call('SADD', key, member)
  if ttl == 0 then
    redis.call('PERSIST', key)
  elseif cur == -2 or (cur >= 0 and cur < ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end
-- record keeps a revocation (d, x) at key, keeping the later expiry of an
-- older record, and announces it.
local function record(key, d, x, ttl, channel)
  x = tonumber(x)
  local old = redis.call('HGET', key, 'x')
  if old and (tonumber(old) == 0 or (x ~= 0 and tonumber(old) > x)) then
    x = tonumber(old)
    ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = 0 end
  end
  redis.call('HSET', key, 'd', d, 'x', x)
  setttl(key, ttl)
  redis.call('PUBLISH', channel, d)
end
-- dropfamily deletes the refresh tokens of one family, its index and its
-- upstream credential (famkey .. ':up', see Store.upstreamKey).
local function dropfamily(rtprefix, famkey)
  for _, h in ipairs(redis.call('SMEMBERS', famkey)) do
    redis.call('DEL', rtprefix .. h)
  end
  redis.call('DEL', famkey, famkey .. ':up')
end
`

// createScript: KEYS[1] record; ARGV now, d, x, ttl.
var createScript = redis.NewScript(luaLib + `
if live(redis.call('HGET', KEYS[1], 'x')) then return 'exists' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3])
setttl(KEYS[1], ARGV[4])
return 'ok'
`)

// replaceScript: KEYS[1] record; ARGV now, d, x, ttl.
var replaceScript = redis.NewScript(luaLib + `
if not live(redis.call('HGET', KEYS[1], 'x')) then return 'notfound' end
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3])
setttl(KEYS[1], ARGV[4])
return 'ok'
`)

// deleteScript: KEYS[1] record; ARGV now.
var deleteScript = redis.NewScript(luaLib + `
local ok = live(redis.call('HGET', KEYS[1], 'x'))
redis.call('DEL', KEYS[1])
if ok then return 'ok' end
return 'notfound'
`)

// allowAllScript: KEYS the counters; ARGV now, then the limit and window
// of each key. Counts one event in every counter if each has room: returns
// {0, 0}; else {i, ms until counter i's window ends} and counts nothing.
var allowAllScript = redis.NewScript(luaLib + `
for i, k in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2*i]), tonumber(ARGV[2*i+1])
  if limit < 1 then return {i, window} end
  local v = redis.call('HMGET', k, 'n', 'e')
  local n, e = tonumber(v[1]) or 0, tonumber(v[2])
  if e and now < e and n >= limit then return {i, e - now} end
end
for i, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 'n', 'e')
  local n, e = tonumber(v[1]) or 0, tonumber(v[2])
  if not e or now >= e then n = 0; e = now + tonumber(ARGV[2*i+1]) end
  redis.call('HSET', k, 'n', n + 1, 'e', e)
  redis.call('PEXPIRE', k, e - now)
end
return {0, 0}
`)

// takeScript: KEYS[1] record; ARGV now. Returns {d, x} and deletes it.
var takeScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'd', 'x')
redis.call('DEL', KEYS[1])
return v
`)

// putCodeScript: KEYS[1] code; ARGV now, d, x, ttl, retention.
var putCodeScript = redis.NewScript(luaLib + `
local x = redis.call('HGET', KEYS[1], 'x')
if x and tonumber(x) + tonumber(ARGV[5]) > now then return 'exists' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3])
setttl(KEYS[1], ARGV[4])
return 'ok'
`)

// redeemScript: KEYS[1] code; ARGV now, retention. Returns {status, d}.
var redeemScript = redis.NewScript(luaLib + `
local v = redis.call('HMGET', KEYS[1], 'd', 'x', 'u')
if not v[1] then return {'notfound'} end
local x = tonumber(v[2])
if v[3] then
  if now < x + tonumber(ARGV[2]) then return {'used', v[1]} end
  return {'notfound'}
end
if now >= x then return {'notfound'} end
redis.call('HSET', KEYS[1], 'u', '1')
return {'ok', v[1]}
`)

// issueScript: KEYS[1] token, KEYS[2] family set, KEYS[3] client's
// families, KEYS[4] family revocation; ARGV now, d, x, ttl, family, hash.
var issueScript = redis.NewScript(luaLib + `
if live(redis.call('HGET', KEYS[1], 'x')) then return 'exists' end
if live(redis.call('HGET', KEYS[4], 'x')) then return 'conflict' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3], 'f', ARGV[5])
setttl(KEYS[1], ARGV[4])
index(KEYS[2], ARGV[6], ARGV[4])
index(KEYS[3], ARGV[5], ARGV[4])
return 'ok'
`)

// rotateScript: KEYS[1] old token, KEYS[2] new token, KEYS[3] family set
// (of the family the caller names), KEYS[4] client's families, KEYS[5]
// that family's revocation; ARGV now, new d, new x, new ttl, family, new
// hash, rotated-at (ns), grace until, grace blob, revocation d, revocation
// x, revocation ttl, channel, token key prefix, family key prefix,
// revocation key prefix.
//
// Returns {outcome, old d, old f, old s, old r, old g, old b}.
var rotateScript = redis.NewScript(luaLib + `
local o = redis.call('HMGET', KEYS[1], 'd', 'x', 'f', 's', 'r', 'g', 'b')
if not o[1] or not live(o[2]) then return {'notfound'} end
local function answer(outcome) return {outcome, o[1], o[3], o[4] or '', o[5] or '', o[6] or '', o[7] or ''} end
if o[3] ~= ARGV[5] then return {'conflict'} end
if not o[4] then
  if live(redis.call('HGET', KEYS[2], 'x')) then return {'exists'} end
  redis.call('HSET', KEYS[1], 's', ARGV[6], 'r', ARGV[7], 'g', ARGV[8], 'b', ARGV[9])
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'd', ARGV[2], 'x', ARGV[3], 'f', ARGV[5])
  setttl(KEYS[2], ARGV[4])
  index(KEYS[3], ARGV[6], ARGV[4])
  index(KEYS[4], ARGV[5], ARGV[4])
  return answer('rotated')
end
local succ = redis.call('HMGET', ARGV[14] .. o[4], 'x', 's')
if tonumber(o[6]) > now and succ[1] and live(succ[1]) and not succ[2] then
  return answer('retry')
end
dropfamily(ARGV[14], ARGV[15] .. o[3])
redis.call('SREM', KEYS[4], o[3])
record(ARGV[16] .. o[3], ARGV[10], ARGV[11], ARGV[12], ARGV[13])
return answer('reuse')
`)

// revokeFamilyScript: KEYS[1] family set, KEYS[2] client's families,
// KEYS[3] family revocation; ARGV now, family, revocation d, x, ttl,
// channel, token key prefix.
var revokeFamilyScript = redis.NewScript(luaLib + `
dropfamily(ARGV[7], KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
record(KEYS[3], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 'ok'
`)

// revokeClientScript: KEYS[1] client's families, KEYS[2] client
// revocation; ARGV now, revocation d, x, ttl, channel, token key prefix,
// family key prefix.
var revokeClientScript = redis.NewScript(luaLib + `
for _, f in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  dropfamily(ARGV[6], ARGV[7] .. f)
end
redis.call('DEL', KEYS[1])
record(KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return 'ok'
`)

// revokeTokenScript: KEYS[1] token revocation; ARGV now, d, x, ttl, channel.
var revokeTokenScript = redis.NewScript(luaLib + `
record(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return 'ok'
`)

// putDeviceScript: KEYS[1] device, KEYS[2] user code; ARGV now, d, x, ttl,
// retention, interval, device hash, device key prefix.
var putDeviceScript = redis.NewScript(luaLib + `
local x = redis.call('HGET', KEYS[1], 'x')
if x and tonumber(x) + tonumber(ARGV[5]) > now then return 'exists' end
local h = redis.call('GET', KEYS[2])
if h and live(redis.call('HGET', ARGV[8] .. h, 'x')) then return 'exists' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3], 'st', 'pending', 'iv', ARGV[6], 'uc', KEYS[2])
setttl(KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[7])
setttl(KEYS[2], ARGV[4])
return 'ok'
`)

// deviceFields are what getDeviceScript and pollDeviceScript return after
// their status: d, x, st, iv, lp, u, at, up.
const luaDeviceFields = `
local function fields(key)
  return redis.call('HMGET', key, 'd', 'x', 'st', 'iv', 'lp', 'u', 'at', 'up')
end
local function answer(status, v)
  return {status, v[1], v[2], v[3], v[4], v[5] or '', v[6] or '', v[7] or '', v[8] or ''}
end
`

// getDeviceScript: KEYS[1] user code; ARGV now, device key prefix.
var getDeviceScript = redis.NewScript(luaLib + luaDeviceFields + `
local h = redis.call('GET', KEYS[1])
if not h then return {'notfound'} end
local v = fields(ARGV[2] .. h)
if not v[1] or not live(v[2]) then return {'notfound'} end
return answer('ok', v)
`)

// decideDeviceScript: KEYS[1] user code; ARGV now, device key prefix,
// status, user JSON, auth time, sealed upstream credential.
var decideDeviceScript = redis.NewScript(luaLib + `
local h = redis.call('GET', KEYS[1])
if not h then return 'notfound' end
local key = ARGV[2] .. h
local v = redis.call('HMGET', key, 'x', 'st')
if not v[1] or not live(v[1]) then return 'notfound' end
if v[2] ~= 'pending' then return 'conflict' end
redis.call('HSET', key, 'st', ARGV[3], 'u', ARGV[4], 'at', ARGV[5], 'up', ARGV[6])
return 'ok'
`)

// pollDeviceScript: KEYS[1] device; ARGV now, retention, slow-down step.
var pollDeviceScript = redis.NewScript(luaLib + luaDeviceFields + `
local v = fields(KEYS[1])
if not v[1] then return {'notfound'} end
local x = tonumber(v[2])
if now >= x + tonumber(ARGV[2]) then return {'notfound'} end
if now >= x then return answer('expired', v) end
if v[3] == 'approved' or v[3] == 'denied' then
  local uc = redis.call('HGET', KEYS[1], 'uc')
  redis.call('DEL', KEYS[1])
  if uc then redis.call('DEL', uc) end
  v[5] = tostring(now)
  return answer(v[3], v)
end
local lp, iv = tonumber(v[5]), tonumber(v[4])
local status = 'pending'
if lp and now - lp < iv then
  iv = iv + tonumber(ARGV[3])
  status = 'slow_down'
end
redis.call('HSET', KEYS[1], 'iv', iv, 'lp', now)
v[4] = tostring(iv)
v[5] = tostring(now)
return answer(status, v)
`)

// putUpstreamScript: KEYS[1] upstream credential, KEYS[2] client's
// families, KEYS[3] family revocation; ARGV now, d, x, ttl, family.
var putUpstreamScript = redis.NewScript(luaLib + `
if live(redis.call('HGET', KEYS[3], 'x')) then return 'conflict' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3], 'v', 1)
setttl(KEYS[1], ARGV[4])
index(KEYS[2], ARGV[5], ARGV[4])
return 'ok'
`)

// swapUpstreamScript: KEYS[1] upstream credential; ARGV now, version, d,
// x, ttl.
var swapUpstreamScript = redis.NewScript(luaLib + `
local o = redis.call('HMGET', KEYS[1], 'x', 'v')
if not o[1] or not live(o[1]) then return 'notfound' end
if tonumber(o[2]) ~= tonumber(ARGV[2]) then return 'conflict' end
redis.call('HSET', KEYS[1], 'd', ARGV[3], 'x', ARGV[4], 'v', tonumber(ARGV[2]) + 1)
setttl(KEYS[1], ARGV[5])
return 'ok'
`)
