// The receiving end of the pub/sub benchmark, forked as its own process (argv: port, subscriptions
// as JSON). It is at once
//   - the sidecar's app: a node:http server answering GET /dapr/subscribe with the given
//     subscriptions and every delivered event with 200 {"status":"SUCCESS"};
//   - the direct consumers, started over IPC: an XREADGROUP BLOCK loop on a Redis stream (XACK after
//     recording) and an amqplib consumer on a queue bound to an exchange (ack after recording).
// Each arrival is timed with process.hrtime.bigint() (the same system-wide monotonic clock the
// publisher wrote into the payload) and kept per topic by sequence number; probes (seq < 0) are
// only counted as "seen". IPC: {cmd:'redis'|'amqp'|'stats'|'stop', ...} -> {id, ...reply}.
import { createServer } from 'node:http';
import { createHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { EXCHANGE } from './targets-pubsub.mjs';

const [port, subsJson] = process.argv.slice(2);
const subscriptions = JSON.parse(subsJson);
const now = () => process.hrtime.bigint();

/** topic -> { lat: Map<seq, ns>, dups, probes, bodyBytes, bad } */
const topics = new Map();
const topicState = (t) => {
  let s = topics.get(t);
  if (!s) topics.set(t, (s = { lat: new Map(), dups: 0, probes: 0, bodyBytes: undefined, bad: 0 }));
  return s;
};

/** Records one arrival; `data` is the publisher's payload (object or JSON text). */
function record(topic, data, arrival, bodyBytes) {
  const s = topicState(topic);
  s.bodyBytes ??= bodyBytes;
  let p = data;
  try {
    if (typeof p === 'string' || Buffer.isBuffer(p)) p = JSON.parse(p.toString());
  } catch {
    p = undefined;
  }
  if (!p || typeof p.seq !== 'number' || typeof p.t !== 'string') {
    s.bad++;
    return;
  }
  if (p.seq < 0) {
    s.probes++;
    return;
  }
  if (s.lat.has(p.seq)) s.dups++;
  else s.lat.set(p.seq, Number(arrival - BigInt(p.t)));
}

// The app the sidecar delivers to.
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const arrival = now();
    if (req.method === 'GET' && req.url === '/dapr/subscribe') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(subscriptions));
      return;
    }
    if (req.method === 'GET') {
      res.writeHead(404).end();
      return;
    }
    const body = Buffer.concat(chunks);
    try {
      const ev = JSON.parse(body.toString('utf8'));
      record(String(ev.topic), ev.data, arrival, body.length);
    } catch {
      topicState('?').bad++;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}');
  });
});
server.keepAliveTimeout = 60_000;

const stoppers = [];
let stopping = false;

/** Direct Redis consumer: group created at $ (MKSTREAM) before anything is published. */
async function watchRedis({ redisPort, stream, group }) {
  const admin = new Redis({ host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: 1 });
  await admin.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
  const reader = new Redis({ host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: 1 });
  let stop = false;
  const loop = (async () => {
    while (!stop && !stopping) {
      let reply;
      try {
        reply = await reader.xreadgroup('GROUP', group, 'c1', 'COUNT', 100, 'BLOCK', 1000, 'STREAMS', stream, '>');
      } catch {
        if (!stop) await sleep(100);
        continue;
      }
      const arrival = now();
      if (!reply) continue;
      const ids = [];
      for (const [id, fields] of reply[0][1]) {
        ids.push(id);
        const i = fields.indexOf('data');
        record(stream, i >= 0 ? fields[i + 1] : undefined, arrival, undefined);
      }
      if (ids.length) await admin.xack(stream, group, ...ids).catch(() => undefined);
    }
  })();
  stoppers.push(async () => {
    stop = true;
    reader.disconnect(); // cuts a pending BLOCK short
    await loop;
    await admin.quit().catch(() => admin.disconnect());
  });
}

/** Direct RabbitMQ consumer: exchange as pubsub.rabbitmq declares it, one queue bound to it. */
async function watchAmqp({ url, exchange, queue }) {
  const conn = await connect(url);
  conn.on('error', () => undefined);
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  await ch.assertExchange(exchange, EXCHANGE.kind, EXCHANGE.options);
  await ch.assertQueue(queue, { durable: false, autoDelete: true });
  await ch.bindQueue(queue, exchange, '');
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    record(exchange, msg.content, now(), undefined);
    ch.ack(msg);
  });
  stoppers.push(() => conn.close().catch(() => undefined));
}

/** Waits (bounded) until `total` distinct messages of topic arrived, then summarizes them. */
async function stats({ topic, total, warm, timeoutMs }) {
  const s = topicState(topic);
  const deadline = Date.now() + timeoutMs;
  while (s.lat.size < total && Date.now() < deadline) await sleep(20);
  await sleep(200); // late duplicates
  const hist = createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
  const missing = [];
  for (let i = 0; i < total; i++) {
    const ns = s.lat.get(i);
    if (ns === undefined) missing.length < 10 && missing.push(i);
    else if (i >= warm) hist.record(Math.max(1, ns));
  }
  const ms = (ns) => ns / 1e6;
  return {
    delivered: s.lat.size,
    missingCount: [...Array(total).keys()].filter((i) => !s.lat.has(i)).length,
    missing,
    dups: s.dups,
    bad: s.bad,
    measured: hist.count,
    p50: ms(hist.percentile(50)),
    p99: ms(hist.percentile(99)),
    max: ms(hist.max),
    bodyBytes: s.bodyBytes,
  };
}

process.on('message', async (m) => {
  try {
    let reply = {};
    if (m.cmd === 'redis') await watchRedis(m);
    else if (m.cmd === 'amqp') await watchAmqp(m);
    else if (m.cmd === 'seen') reply = { probes: topicState(m.topic).probes, delivered: topicState(m.topic).lat.size };
    else if (m.cmd === 'stats') reply = await stats(m);
    else if (m.cmd === 'stop') {
      stopping = true;
      server.closeAllConnections();
      server.close();
      await Promise.race([Promise.all(stoppers.map((f) => f())), sleep(3000)]);
    }
    process.send({ id: m.id, ok: true, ...reply });
    if (m.cmd === 'stop') process.disconnect();
  } catch (e) {
    process.send({ id: m.id, ok: false, error: String(e?.message ?? e) });
  }
});

server.listen(Number(port), '127.0.0.1', () => process.send({ type: 'listening' }));
