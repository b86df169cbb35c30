// One way to open a Redis connection for every Redis component: bounded by dialTimeout so a wrong
// address fails init instead of retrying forever; reconnects only after the first connect worked.
import { type Command, Redis } from 'ioredis';
import type { RedisConfig } from './redis-metadata';

export { parseRedisMetadata, type RedisConfig } from './redis-metadata';

export async function connectRedis(cfg: RedisConfig, what: string): Promise<Redis> {
  let connected = false;
  let lastError: Error | undefined;
  const client = new Redis({
    host: cfg.host,
    port: cfg.port,
    username: cfg.redisUsername,
    password: cfg.redisPassword,
    db: cfg.redisDB,
    tls: cfg.enableTLS ? {} : undefined,
    connectTimeout: cfg.dialTimeout,
    commandTimeout: cfg.readTimeout,
    maxRetriesPerRequest: cfg.redisMaxRetries,
    lazyConnect: true,
    // Concurrent requests share one socket write: fewer syscalls and less Redis CPU under load.
    enableAutoPipelining: true,
    retryStrategy: (times) => (connected ? Math.min(times * 100, 2000) : null),
  });
  // ioredis emits 'error' on every failed (re)connect; without a listener Node would crash.
  client.on('error', (e: Error) => {
    lastError = e;
  });
  explainFailures(client, cfg, () => lastError);
  // connectTimeout covers only the TCP connect: a server that accepts and never answers (a
  // partition, a stalled proxy) would leave the handshake waiting, so dialTimeout bounds it all.
  const deadline = setTimeout(() => {
    lastError = new Error(`no answer within ${cfg.dialTimeout} ms (dialTimeout)`);
    client.disconnect();
  }, cfg.dialTimeout);
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    // After a refused connect the client has already ended; disconnect() then would arm a timer.
    if (client.status !== 'end') client.disconnect();
    throw new Error(`${what}: error connecting to redis at ${cfg.host}:${cfg.port}: ${(lastError ?? (e as Error)).message}`);
  } finally {
    clearTimeout(deadline);
  }
  connected = true;
  return client;
}

/** The health round trip: fails at once while the connection is down (ioredis would queue the PING). */
export async function pingRedis(client: Redis): Promise<void> {
  if (client.status !== 'ready') throw new Error(`redis connection is ${client.status}`);
  await client.ping();
}

/** QUIT politely; a connection that is already broken is just dropped. */
export async function closeRedis(client: Redis | undefined): Promise<void> {
  if (!client) return;
  // QUIT would wait in the offline queue for a reconnect that may never come.
  if (client.status !== 'ready') return void client.disconnect();
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/**
 * ioredis's connection-level failures say neither which server nor why ("Reached the max retries
 * per request limit", "Command timed out"): every command's rejection is rewritten here, in one
 * place, to name the server and the connection's last error.
 */
function explainFailures(client: Redis, cfg: RedisConfig, lastError: () => Error | undefined): void {
  const where = `redis at ${cfg.host}:${cfg.port}`;
  const explain = (err: Error): Error => {
    let message: string | undefined;
    if (err.name === 'MaxRetriesPerRequestError') message = `${where} is unreachable: ${lastError()?.message ?? `connection ${client.status}`} (gave up after ${cfg.redisMaxRetries} reconnect attempts)`;
    else if (err.message === 'Command timed out') message = `no answer from ${where} within ${cfg.readTimeout} ms (readTimeout)`;
    else if (err.message === 'Connection is closed.') message = `connection to ${where} closed${lastError() ? `: ${lastError()!.message}` : ''}`;
    return message ? Object.assign(new Error(message, { cause: err }), { name: err.name }) : err;
  };
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, ...rest: unknown[]) => {
    const reject = command.reject;
    command.reject = (err: Error) => reject(explain(err));
    return (send as (...a: unknown[]) => unknown)(command, ...rest);
  };
}
