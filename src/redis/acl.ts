/**
 * The Redis commands vigil uses (the monitor, the HTTP API, `vigil breakers` and the breaker client,
 * the Lua scripts' own calls included), for an ACL user limited to them and to vigil's key prefix.
 * Found by running all of them under MONITOR (test/hardening/redis-acl.test.ts checks that this set is
 * enough and that nothing else is allowed); SECURITY.md shows the resulting ACL line.
 */
export const VIGIL_REDIS_COMMANDS = [
  // connection: RESP3 handshake, AUTH, health, CLIENT SETNAME (connectionName), ioredis's ready check (INFO)
  'hello', 'auth', 'ping', 'quit', 'select', 'client|setname', 'info',
  // Lua scripts (EVALSHA, EVAL as the fallback) and the commands they call
  'evalsha', 'eval', 'time', 'hget', 'hset', 'hgetall', 'hmget', 'del', 'expire', 'pexpire', 'zadd', 'zrem', 'zrangebyscore', 'publish', 'incrby',
  // restoring a partition's resident detector state (src/detection/resident-state.ts)
  'hscan',
  // dedupe, finding effects, breaker listing (the index set <prefix>:brk:index, SCAN for reindex and the
  // metrics' breaker collector), transactions (the index beside a breaker script; handlers' own MULTI)
  'mget', 'set', 'exists', 'scan', 'sadd', 'sscan', 'srem', 'multi', 'exec', 'discard',
  // the transition forwarder (pub/sub)
  'subscribe', 'unsubscribe',
  // the detection store's placeholder reply in a pipeline (slice-store.ts)
  'echo',
  // compensations and notifications (src/compensation, src/notify): sagas, the relay's lease and
  // sequence, incidents (their scripts' own calls included), the outbox stream and its consumer group
  'get', 'incr', 'hincrby', 'hdel', 'persist', 'zcard', 'zrange', 'zscore',
  'xadd', 'xgroup', 'xreadgroup', 'xpending', 'xclaim', 'xrange', 'xack', 'xdel',
  // the breaker overrides' audit outbox relay (src/breakers/audit-relay.ts): is a breaker's stream empty
  'xlen',
] as const;

/**
 * The arguments of `ACL SETUSER <user> …` for vigil: on, the password, keys and channels under
 * `<prefix>:` only, no command but VIGIL_REDIS_COMMANDS.
 */
export function vigilAclRules(password: string, prefix = 'vigil'): string[] {
  return ['reset', 'on', `>${password}`, `~${prefix}:*`, `&${prefix}:*`, '-@all', ...VIGIL_REDIS_COMMANDS.map((c) => `+${c}`)];
}
