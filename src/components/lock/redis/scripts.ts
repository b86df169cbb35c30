// Lua run by lock.redis. UNLOCK keeps contrib's return values (-1 missing, -2 other owner, else the
// DEL count) so both runtimes read the same outcomes off one Redis; KEEP_ALIVE is the same
// compare step followed by PEXPIRE.
export const UNLOCK = `local v = redis.call("get", KEYS[1])
if v == false then return -1 end
if v ~= ARGV[1] then return -2 end
return redis.call("del", KEYS[1])`;

export const KEEP_ALIVE = `local v = redis.call("get", KEYS[1])
if v == false then return -1 end
if v ~= ARGV[1] then return -2 end
return redis.call("pexpire", KEYS[1], ARGV[2])`;
