// Request functions for the pub/sub benchmark, same shape as targets.mjs (`call(i)` resolves once
// the publish is acknowledged, throws on anything else). Every payload is the same ~200-byte JSON
// document carrying its sequence number and its send time (process.hrtime.bigint(), the system-wide
// monotonic clock, so the receiver process on the same machine can compute publish-to-delivery).
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { TIMEOUT_MS, grpcClient, unary } from './targets.mjs';

export const PAYLOAD_BYTES = 200;

/** `{"seq":i,"t":"<hrtime ns>","pad":"xx…"}`, exactly PAYLOAD_BYTES long for any realistic i. */
export function payload(i) {
  const head = `{"seq":${i},"t":"${process.hrtime.bigint()}","pad":"`;
  return `${head}${'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length - 2))}"}`;
}

/** The exchange pubsub.rabbitmq declares per topic with its default metadata (fanout, durable, auto-delete). */
export const EXCHANGE = { kind: 'fanout', options: { durable: true, autoDelete: true } };

/** Rejects after TIMEOUT_MS so no request (e.g. a confirm that never comes) can hang its loop. */
function bounded(p, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS)))]).finally(() => clearTimeout(t));
}

/**
 * spec: { kind: 'redis'|'amqp'|'http'|'dapr-grpc'|'layotto-grpc', port?, url? (amqp), topic,
 *         pubsub? (sidecar component name), connections? (HTTP pool size) }
 */
export function makeTarget(spec) {
  const { kind, port, url, topic, pubsub, connections = 32 } = spec;

  if (kind === 'redis') {
    // The entry layout pubsub.redis writes (fields data + metadata), without the CloudEvent envelope.
    const redis = new Redis({ host: '127.0.0.1', port, commandTimeout: TIMEOUT_MS, maxRetriesPerRequest: 1 });
    return { close: () => redis.quit(), call: (i) => redis.xadd(topic, '*', 'data', payload(i), 'metadata', '{}') };
  }

  if (kind === 'amqp') {
    // One confirm channel, each publish resolved by its own broker confirm: what the sidecar's
    // pubsub.rabbitmq publisher does per request (RabbitMQ may ack several at once; either way a
    // request waits for the ack covering its message).
    let opened;
    const open = async () => {
      const conn = await connect(url);
      conn.on('error', () => undefined);
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => undefined);
      await ch.assertExchange(topic, EXCHANGE.kind, EXCHANGE.options);
      return { conn, ch };
    };
    return {
      async close() {
        if (!opened) return;
        const { conn } = await opened.catch(() => ({}));
        await conn?.close().catch(() => undefined);
      },
      async call(i) {
        const { ch } = await (opened ??= open());
        await bounded(
          new Promise((res, rej) => ch.publish(topic, '', Buffer.from(payload(i)), { contentType: 'application/json' }, (err) => (err ? rej(err) : res()))),
          'amqp confirm',
        );
      },
    };
  }

  if (kind === 'http') {
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    const path = `/v1.0/publish/${pubsub}/${topic}`;
    return {
      close: () => pool.close(),
      async call(i) {
        const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: payload(i) });
        const text = await res.body.text();
        if (res.statusCode !== 204) throw new Error(`publish status ${res.statusCode} ${text.slice(0, 80)}`);
      },
    };
  }

  // Dapr and Layotto PublishEventRequest have the same fields.
  const client = grpcClient(kind === 'layotto-grpc' ? 'layotto' : 'dapr', port);
  return {
    close: () => client.close(),
    call: (i) => unary(client, 'PublishEvent', { pubsub_name: pubsub, topic, data: Buffer.from(payload(i)), data_content_type: 'application/json', metadata: {} }),
  };
}
