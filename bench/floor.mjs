// The "floor": the thinnest possible Node sidecar for GET state. One fastify route, one ioredis
// HGET on daprd's hash layout (<appid>||<key>, field data), the stored bytes returned verbatim.
// Anything the real sidecar does on top of this (validation, component lookup, error mapping,
// metrics) is its overhead. Usage: node bench/floor.mjs <port> <appId> [redisHost] [redisPort]
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const [port, appId, redisHost = '127.0.0.1', redisPort = '6379'] = process.argv.slice(2);
const redis = new Redis({ host: redisHost, port: Number(redisPort), lazyConnect: false });
const app = Fastify({ logger: false });

app.get('/v1.0/state/:store/:key', async (req, reply) => {
  const data = await redis.hgetBuffer(`${appId}||${req.params.key}`, 'data');
  if (data === null) return reply.code(204).send();
  return reply.type('application/json').send(data);
});

await app.listen({ port: Number(port), host: '127.0.0.1' });
const stop = async () => {
  await app.close();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
