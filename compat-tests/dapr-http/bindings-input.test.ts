// Input bindings on the built sidecar with an HTTP app, driven by the real @dapr/dapr SDK (cases in
// helpers/bindings.ts: cron, MQTT and RabbitMQ round trips, redelivery, an unheard binding). Raw
// HTTP covers what the SDK hides: the probe and the POST daprd sends, the `route` metadata, an
// answer that saves state and feeds an output binding, direction: input, and a bad schedule.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireService } from '../../test/services';
import { until } from '../../test/wait';
import { inputBindingCases, MQTT_URL, RABBIT_URL } from '../helpers/bindings';
import { uniqueRun } from '../helpers/lock-backends';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

describe('Dapr HTTP input bindings via @dapr/dapr SDK (HTTP app)', () => {
  inputBindingCases('http');
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A plain node:http app that records every request and answers from a script. */
async function rawApp(answer: (s: Seen) => { status: number; body?: string }) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body ?? '');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('Dapr HTTP input bindings, raw HTTP app', () => {
  const run = uniqueRun();
  let sc: Sidecar | undefined;
  let app: Awaited<ReturnType<typeof rawApp>> | undefined;

  afterEach(async () => {
    await sc?.stop();
    await app?.close();
    sc = undefined;
    app = undefined;
  });

  it('probes OPTIONS /<route>, POSTs events there as JSON with their metadata as headers; a 404 probe leaves a binding unread', async () => {
    app = await rawApp((s) => ({ status: s.url === '/cron-in' || s.url === '/silent' ? (s.method === 'OPTIONS' && s.url === '/silent' ? 404 : 200) : 404 }));
    sc = await startSidecar({
      args: ['--app-port', String(app.port), '--dapr-graceful-shutdown-seconds', '1'],
      resources: {
        'a.yaml': componentYaml('routed', 'bindings.cron', { schedule: '@every 1s', route: '/cron-in' }),
        'b.yaml': componentYaml('silent', 'bindings.cron', { schedule: '@every 1s' }),
      },
    });
    const seen = app.seen;
    await until(() => seen.some((s) => s.method === 'POST'), () => `a POST, got ${JSON.stringify(seen.map((s) => `${s.method} ${s.url}`))}`, 10000);
    expect(seen.filter((s) => s.method === 'OPTIONS').map((s) => s.url).sort()).toEqual(['/cron-in', '/silent']);
    const post = seen.find((s) => s.method === 'POST')!;
    expect(post.url).toBe('/cron-in');
    expect(post.body).toBe('');
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers.timezone).toBe('Local');
    expect(post.headers.readtimeutc).toMatch(/ \+0000 UTC$/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen.filter((s) => s.method === 'POST' && s.url === '/silent')).toEqual([]);
  });

  it('direction: input starts reading without asking the app', async () => {
    app = await rawApp(() => ({ status: 404 }));
    sc = await startSidecar({
      args: ['--app-port', String(app.port), '--dapr-graceful-shutdown-seconds', '1'],
      resources: { 'a.yaml': componentYaml('forced', 'bindings.cron', { schedule: '@every 1s', direction: 'input' }) },
    });
    await until(() => app!.seen.some((s) => s.method === 'POST' && s.url === '/forced'), () => 'a POST /forced', 10000);
    expect(app.seen.some((s) => s.method === 'OPTIONS')).toBe(false);
  });

  it("the app's answer saves state with its key prefix and sends data to the output bindings in `to`", async () => {
    if (!(await requireService('mosquitto', '127.0.0.1', 1883))) return;
    const topic = `compat/bind-to/${run}`;
    let answered = false;
    app = await rawApp((s) => {
      if (s.method === 'OPTIONS') return { status: s.url === '/trigger' || s.url === '/sink' ? 200 : 404 };
      if (s.url === '/trigger' && !answered) {
        answered = true;
        return { status: 200, body: JSON.stringify({ storeName: 'store', state: [{ key: 'from-binding', value: { saved: true } }], to: ['sink'], data: { forwarded: 1 } }) };
      }
      return { status: 200 };
    });
    sc = await startSidecar({
      appId: 'bind-raw',
      args: ['--app-port', String(app.port), '--dapr-graceful-shutdown-seconds', '1'],
      resources: {
        's.yaml': componentYaml('store', 'state.in-memory'),
        't.yaml': componentYaml('trigger', 'bindings.cron', { schedule: '@every 1s' }),
        'o.yaml': componentYaml('sink', 'bindings.mqtt3', { url: MQTT_URL, topic, consumerID: `bind-to-${run}`, cleanSession: 'true' }),
      },
    });
    await until(() => app!.seen.some((s) => s.method === 'POST' && s.url === '/sink'), () => 'the forwarded event on /sink', 15000);
    expect(app.seen.find((s) => s.method === 'POST' && s.url === '/sink')!.body).toBe('{"forwarded":1}');
    const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/store/from-binding`);
    expect(await r.json()).toEqual({ saved: true });
  });

  it('bad input: an unknown schedule fails init with an error naming the field', async () => {
    const res = { 'a.yaml': componentYaml('badcron', 'bindings.cron', { schedule: 'every tuesday' }) };
    const bad = await startSidecar({ resources: res, wait: false });
    const code = await bad.exited;
    expect(code).not.toBe(0);
    expect(bad.output()).toContain('spec.metadata.schedule');
    expect(bad.output()).toContain("invalid schedule format 'every tuesday'");
  });

  it('bad input: a rabbitmq binding without queueName fails init naming the field', async () => {
    const res = { 'a.yaml': componentYaml('badq', 'bindings.rabbitmq', { host: RABBIT_URL }) };
    const bad = await startSidecar({ resources: res, wait: false });
    expect(await bad.exited).not.toBe(0);
    expect(bad.output()).toContain('spec.metadata.queueName');
  });
});
