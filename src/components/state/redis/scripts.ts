// Lua scripts for state.redis. Storage matches contrib's state.redis exactly: one hash per key
// with fields `data` (raw bytes) and `version` (integer, the ETag, bumped by HINCRBY), plus a
// `first-write` field once a key was written with first-write concurrency. The ETag rules are
// contrib's setDefaultQuery/delDefaultQuery:
//   set    ok when the key is missing, version == etag, or (no first-write marker and etag == "0")
//   delete ok when the key is missing, version == etag, or etag == "0"
// ("0" is what the store sends when the caller gave no ETag). Unlike contrib's MULTI of EVALs,
// WRITE validates every operation before applying any, so an ETag failure aborts the whole
// transaction; it also applies EXPIRE/PERSIST inside the script so TTL and data change together.

/** Arguments per operation in WRITE: kind ("s"|"d"), etag, data, firstWrite ("0" = yes), ttl ("" = keep). */
export const ARGS_PER_OP = 5;

export const WRITE = `
local ver, fwr = {}, {}
local function load(k)
  if ver[k] ~= nil then return end
  if redis.call("TYPE", k)["ok"] == "hash" then
    ver[k] = redis.call("HGET", k, "version") or false
    fwr[k] = redis.call("HEXISTS", k, "first-write") == 1
  else
    ver[k] = false
    fwr[k] = false
  end
end
for i = 1, #KEYS do
  local k, b = KEYS[i], (i - 1) * ${ARGS_PER_OP}
  local etag = ARGV[b + 2]
  load(k)
  local cur = ver[k]
  if ARGV[b + 1] == "s" then
    if cur and cur ~= "" and cur ~= etag and (fwr[k] or etag ~= "0") then
      return redis.error_reply("DAPR_ETAG_MISMATCH " .. i)
    end
    ver[k] = tostring((tonumber(cur) or 0) + 1)
    if ARGV[b + 4] == "0" then fwr[k] = true end
  else
    if cur and cur ~= "" and cur ~= etag and etag ~= "0" then
      return redis.error_reply("DAPR_ETAG_MISMATCH " .. i)
    end
    ver[k] = false
    fwr[k] = false
  end
end
for i = 1, #KEYS do
  local k, b = KEYS[i], (i - 1) * ${ARGS_PER_OP}
  if ARGV[b + 1] == "s" then
    if redis.call("TYPE", k)["ok"] ~= "hash" then redis.call("DEL", k) end
    redis.call("HSET", k, "data", ARGV[b + 3])
    if ARGV[b + 4] == "0" then redis.call("HSET", k, "first-write", 0) end
    redis.call("HINCRBY", k, "version", 1)
    local ttl = ARGV[b + 5]
    if ttl ~= "" then
      if tonumber(ttl) > 0 then redis.call("EXPIRE", k, ttl) else redis.call("PERSIST", k) end
    end
  else
    redis.call("DEL", k)
  end
end
return #KEYS
`;

/**
 * GET: nil when missing; {data} for a plain string key (contrib's backward-compatible directGet);
 * {data, version, pttl} for a state hash.
 */
export const GET = `
local t = redis.call("TYPE", KEYS[1])["ok"]
if t == "none" then return false end
if t == "string" then return {redis.call("GET", KEYS[1])} end
if t ~= "hash" then return redis.error_reply("WRONGTYPE key holds a " .. t .. ", not a state hash") end
local v = redis.call("HMGET", KEYS[1], "data", "version")
return {v[1], v[2], redis.call("PTTL", KEYS[1])}
`;
