// One request function per benchmark target, all with the same shape: `call(i)` sends request
// number i and resolves when the full response has been read, or throws (= an error in the
// results). Every client keeps its connections open (undici keep-alive Pool, one gRPC channel,
// one Redis connection) and every request has a 5 s timeout so no loop can hang.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Redis } from 'ioredis';
import { Pool } from 'undici';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const TIMEOUT_MS = 5000;

/** Number of distinct keys read (seeded) and written (per target); requests cycle over them. */
export const KEYS = 1000;
export const readKey = (i) => `k${i % KEYS}`;
export const saveKey = (label, i) => `s-${label}-${i % KEYS}`;

/** A ~100-byte JSON document, different per key. */
export function jsonValue(i) {
  const n = String(i % KEYS).padStart(4, '0');
  return JSON.stringify({ id: i % KEYS, user: `user-${n}`, email: `user${n}@example.com`, active: true, score: 31337, tags: ['bench', 'state'] });
}

const GRPC_OPTS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export function grpcClient(face, port) {
  let ctor;
  if (face === 'dapr') {
    const dir = join(dirname(require.resolve('@dapr/dapr/package.json')), 'proto');
    const def = protoLoader.loadSync('dapr/proto/runtime/v1/dapr.proto', { ...GRPC_OPTS, includeDirs: [dir] });
    ctor = grpc.loadPackageDefinition(def).dapr.proto.runtime.v1.Dapr;
  } else {
    const dir = resolve(HERE, '..', 'proto', 'layotto');
    const def = protoLoader.loadSync('spec/proto/runtime/v1/runtime.proto', { ...GRPC_OPTS, includeDirs: [dir] });
    ctor = grpc.loadPackageDefinition(def).spec.proto.runtime.v1.Runtime;
  }
  return new ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

export function unary(client, method, req) {
  return new Promise((res, rej) =>
    client[method](req, { deadline: Date.now() + TIMEOUT_MS }, (err, out) => (err ? rej(err) : res(out))),
  );
}

/**
 * spec: { kind: 'redis'|'http'|'dapr-grpc'|'layotto-grpc', op: 'get'|'save', port, label,
 *         store?, appId?, connections? (HTTP pool size) }
 */
export function makeTarget(spec) {
  const { kind, op, port, label, store = 'statestore', appId = 'bench', connections = 32 } = spec;
  if (kind === 'redis') {
    const redis = new Redis({ host: '127.0.0.1', port, commandTimeout: TIMEOUT_MS, maxRetriesPerRequest: 1 });
    const close = () => redis.quit();
    if (op === 'get')
      return {
        close,
        async call(i) {
          if ((await redis.hgetBuffer(`${appId}||${readKey(i)}`, 'data')) === null) throw new Error('missing key');
        },
      };
    return { close, call: (i) => redis.hset(`${appId}||${saveKey(label, i)}`, 'data', jsonValue(i), 'version', 1) };
  }

  if (kind === 'http') {
    const pool = new Pool(`http://127.0.0.1:${port}`, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const close = () => pool.close();
    if (op === 'get')
      return {
        close,
        async call(i) {
          const { statusCode, body } = await pool.request({ method: 'GET', path: `/v1.0/state/${store}/${readKey(i)}` });
          const buf = await body.arrayBuffer();
          if (statusCode !== 200 || buf.byteLength === 0) throw new Error(`GET status ${statusCode}`);
        },
      };
    return {
      close,
      async call(i) {
        const payload = `[{"key":"${saveKey(label, i)}","value":${jsonValue(i)}}]`;
        const { statusCode, body } = await pool.request({
          method: 'POST',
          path: `/v1.0/state/${store}`,
          headers: { 'content-type': 'application/json' },
          body: payload,
        });
        await body.arrayBuffer();
        if (statusCode !== 204) throw new Error(`SAVE status ${statusCode}`);
      },
    };
  }

  // Both gRPC faces name the rpcs and fields the same way (store_name, key, states[].value bytes).
  const client = grpcClient(kind === 'dapr-grpc' ? 'dapr' : 'layotto', port);
  const close = () => client.close();
  if (op === 'get')
    return {
      close,
      async call(i) {
        const out = await unary(client, 'GetState', { store_name: store, key: readKey(i) });
        if (!out.data || out.data.length === 0) throw new Error('empty GetState data');
      },
    };
  return {
    close,
    call: (i) => unary(client, 'SaveState', { store_name: store, states: [{ key: saveKey(label, i), value: Buffer.from(jsonValue(i)) }] }),
  };
}
