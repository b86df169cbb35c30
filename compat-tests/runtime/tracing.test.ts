// Distributed tracing with the built binary: two sidecars configured by a Configuration resource
// (samplingRate "1", zipkin.endpointAddress = a Zipkin-compatible collector in this test) and a call
// app A → sidecar A → sidecar B → app B, which saves state through sidecar B. The collected spans
// must chain by parentId as daprd's do; a publish puts its span into the CloudEvent; samplingRate
// "0" exports nothing but still carries the caller's traceparent; an otel/http exporter posts OTLP
// (counted by a plain node:http receiver).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';
import { sleep, until } from '../../test/wait';

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const APP_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${APP_SPAN}-01`;
const TP = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
}

const readBody = (req: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res(Buffer.concat(chunks)));
    req.on('error', rej);
  });

/** A Zipkin v2 collector: POST /api/v2/spans with a JSON array. */
async function zipkinCollector(): Promise<{ url: string; spans: ZipkinSpan[]; server: Server }> {
  const spans: ZipkinSpan[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((b) => {
      if (req.method === 'POST' && req.url === '/api/v2/spans') spans.push(...(JSON.parse(b.toString()) as ZipkinSpan[]));
      res.writeHead(202).end();
    });
  });
  return { url: `http://127.0.0.1:${await listen(server)}/api/v2/spans`, spans, server };
}

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * An HTTP app. On /hello it saves state through its sidecar with the traceparent it got (what an
 * instrumented app does); it subscribes to `orders` on `pubsub`.
 */
async function app(sidecarPort: () => number): Promise<{ port: number; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then(async (b) => {
      got.push({ url: req.url!, headers: req.headers, body: b.toString() });
      if (req.url === '/dapr/subscribe') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }]));
      if (req.url === '/hello') {
        const saved = await fetch(`http://127.0.0.1:${sidecarPort()}/v1.0/state/statestore`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', traceparent: String(req.headers.traceparent) },
          body: JSON.stringify([{ key: 'k', value: 'v' }]),
        });
        return void res.writeHead(saved.status === 204 ? 200 : 500).end('hi');
      }
      res.writeHead(req.url === '/orders' ? 200 : 404).end();
    });
  });
  return { port: await listen(server), got, server };
}

// Two sidecars start per case, on a machine that runs other suites too.
jest.setTimeout(120_000);

const configYaml = (tracing: string) => `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: tracing\nspec:\n  tracing:\n${tracing}`;

describe('tracing across two sidecars (zipkin exporter)', () => {
  let home: string;
  let dir: string;
  const sidecars: Sidecar[] = [];
  const servers: Server[] = [];

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'layotto-ts-home-'));
    dir = mkdtempSync(join(tmpdir(), 'layotto-ts-tracing-'));
  });
  afterEach(async () => {
    await Promise.all(sidecars.splice(0).map((s) => s.stop()));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  /** appA and appB behind their sidecars, both with this Configuration. */
  async function pair(tracing: string) {
    const config = join(dir, `config-${sidecars.length}.yaml`);
    writeFileSync(config, configYaml(tracing));
    const resources = { 'state.yaml': componentYaml('statestore', 'state.in-memory'), 'pubsub.yaml': componentYaml('pubsub', 'pubsub.in-memory') };
    const start = async (appId: string) => {
      let port = 0;
      const a = await app(() => port);
      servers.push(a.server);
      const sidecar = await startSidecar({ appId, resources, layotto: false, env: { HOME: home }, args: ['--app-port', String(a.port), '--config', config] });
      sidecars.push(sidecar);
      port = sidecar.httpPort;
      await until(() => a.got.some((r) => r.url === '/dapr/subscribe'), () => `${appId} subscriptions read`);
      return { sidecar, app: a };
    };
    return { a: await start('appA'), b: await start('appB') };
  }

  it('app A → sidecar A → sidecar B → app B → state: one trace, chained by parentId', async () => {
    const collector = await zipkinCollector();
    servers.push(collector.server);
    const { a, b } = await pair(`    samplingRate: "1"\n    zipkin:\n      endpointAddress: ${collector.url}\n`);

    const res = await fetch(`http://127.0.0.1:${a.sidecar.httpPort}/v1.0/invoke/appB/method/hello`, { method: 'POST', headers: { traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE' }, body: 'x' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();

    const hello = b.app.got.find((r) => r.url === '/hello')!;
    const [, traceId, appBParent, flags] = TP.exec(String(hello.headers.traceparent))!;
    expect(traceId).toBe(TRACE_ID);
    expect(flags).toBe('01');
    expect(hello.headers.tracestate).toBe('congo=t61rcWkgMzE');

    const inTrace = () => collector.spans.filter((s) => s.traceId === TRACE_ID);
    const find = (pred: (s: ZipkinSpan) => boolean) => inTrace().find(pred);
    await until(() => inTrace().length >= 4, () => `4 spans of the trace, got ${JSON.stringify(inTrace().map((s) => [s.localEndpoint?.serviceName, s.name]))}`);

    // sidecar A: the API call, a CLIENT span under the app's span (daprd names it CallLocal/<id>/<method>).
    const sidecarA = find((s) => s.localEndpoint?.serviceName === 'appA' && s.name === 'CallLocal/appB/hello')!;
    expect(sidecarA).toMatchObject({ parentId: APP_SPAN, kind: 'CLIENT' });
    expect(sidecarA.tags).toMatchObject({ 'dapr.protocol': 'http', 'dapr.api': 'POST /v1.0/invoke/appB/method/hello', 'rpc.service': 'ServiceInvocation', 'net.peer.name': 'appB' });
    // sidecar B: the internal call, a SERVER span under sidecar A's; app B got it as its parent.
    const sidecarB = find((s) => s.localEndpoint?.serviceName === 'appB' && s.name === 'CallLocal/appB/hello')!;
    expect(sidecarB).toMatchObject({ parentId: sidecarA.id, kind: 'SERVER' });
    expect(appBParent).toBe(sidecarB.id);
    // app B → sidecar B: the state API span under app B's traceparent, and the component call under it.
    const stateApi = find((s) => s.localEndpoint?.serviceName === 'appB' && s.name === '/v1.0/state/statestore')!;
    expect(stateApi).toMatchObject({ parentId: sidecarB.id, kind: 'CLIENT' });
    expect(stateApi.tags).toMatchObject({ 'db.system': 'state', 'db.name': 'statestore', 'dapr.status_code': '204' });
    await until(() => find((s) => s.parentId === stateApi.id) !== undefined, () => 'the component span');
    const component = find((s) => s.parentId === stateApi.id)!;
    expect(component.name).toMatch(/^state\/statestore\/(set|bulkSet)$/);
    expect(component.tags).toMatchObject({ 'db.name': 'statestore', 'dapr.component.type': 'state.in-memory' });
  });

  it('a publish puts its span into the CloudEvent; the subscriber gets the delivery span (pubsub/<topic>) as parent', async () => {
    const collector = await zipkinCollector();
    servers.push(collector.server);
    const { a } = await pair(`    samplingRate: "1"\n    zipkin:\n      endpointAddress: ${collector.url}\n`);
    const res = await fetch(`http://127.0.0.1:${a.sidecar.httpPort}/v1.0/publish/pubsub/orders`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: TRACEPARENT }, body: '{"n":1}' });
    expect(res.status).toBe(204);
    await until(() => a.app.got.some((r) => r.url === '/orders'), () => 'the event');
    const delivered = a.app.got.find((r) => r.url === '/orders')!;
    const ce = JSON.parse(delivered.body) as Record<string, string>;

    const inTrace = () => collector.spans.filter((s) => s.traceId === TRACE_ID);
    await until(() => inTrace().some((s) => s.name === 'pubsub/orders') && inTrace().some((s) => s.name === '/v1.0/publish/pubsub/orders'), () => `publish and delivery spans, got ${JSON.stringify(inTrace().map((s) => s.name))}`);
    const publish = inTrace().find((s) => s.name === '/v1.0/publish/pubsub/orders')!;
    const delivery = inTrace().find((s) => s.name === 'pubsub/orders')!;
    expect(publish).toMatchObject({ parentId: APP_SPAN });
    expect(publish.tags).toMatchObject({ 'messaging.system': 'pubsub', 'messaging.destination.name': 'orders' });
    expect(ce.traceparent).toBe(`00-${TRACE_ID}-${publish.id}-01`);
    expect(ce.traceid).toBe(ce.traceparent);
    expect(delivery).toMatchObject({ parentId: publish.id, kind: 'CLIENT' });
    expect(delivered.headers.traceparent).toBe(`00-${TRACE_ID}-${delivery.id}-01`);
    // the broker call is a PRODUCER span under the publish
    expect(inTrace().find((s) => s.parentId === publish.id && s.name === 'pubsub/pubsub/publish')).toMatchObject({ kind: 'PRODUCER' });
  });

  it('samplingRate "0": no spans, but the caller traceparent still reaches app B and the CloudEvent', async () => {
    const collector = await zipkinCollector();
    servers.push(collector.server);
    const { a, b } = await pair(`    samplingRate: "0"\n    zipkin:\n      endpointAddress: ${collector.url}\n`);
    const res = await fetch(`http://127.0.0.1:${a.sidecar.httpPort}/v1.0/invoke/appB/method/hello`, { method: 'POST', headers: { traceparent: TRACEPARENT }, body: 'x' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(b.app.got.find((r) => r.url === '/hello')!.headers.traceparent).toBe(TRACEPARENT);
    const pub = await fetch(`http://127.0.0.1:${a.sidecar.httpPort}/v1.0/publish/pubsub/orders`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: TRACEPARENT }, body: '{}' });
    expect(pub.status).toBe(204);
    await until(() => a.app.got.some((r) => r.url === '/orders'), () => 'the event');
    const delivered = a.app.got.find((r) => r.url === '/orders')!;
    expect((JSON.parse(delivered.body) as { traceparent: string }).traceparent).toBe(TRACEPARENT);
    expect(delivered.headers.traceparent).toBe(TRACEPARENT);
    // Spans leave in batches at least once a second: two seconds of silence is none at all.
    await sleep(2000);
    expect(collector.spans).toEqual([]);
  });

  it('otel over http: OTLP protobuf posts reach /v1/traces, from service appA', async () => {
    let posts = 0;
    let body = '';
    let type = '';
    const receiver = createServer((req, res) => {
      void readBody(req).then((b) => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          posts++;
          type = String(req.headers['content-type']);
          body += b.toString('latin1'); // protobuf keeps the strings readable
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    servers.push(receiver);
    const port = await listen(receiver);
    const { a } = await pair(`    samplingRate: "1"\n    otel:\n      protocol: http\n      endpointAddress: 127.0.0.1:${port}\n      isSecure: false\n`);
    const res = await fetch(`http://127.0.0.1:${a.sidecar.httpPort}/v1.0/state/statestore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"key":"a","value":1}]' });
    expect(res.status).toBe(204);
    await until(() => posts > 0, () => 'an OTLP export');
    expect(type).toBe('application/x-protobuf'); // http/protobuf, as daprd sends OTLP over HTTP
    expect(body).toContain('appA');
    expect(body).toContain('/v1.0/state/statestore');
  });

  it('otel over grpc: OTLP Export calls reach the collector, from service appA', async () => {
    // A bare gRPC server for opentelemetry's TraceService: counts Export calls and answers an empty OK.
    let calls = 0;
    let body = '';
    const receiver = createH2Server();
    receiver.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (headers[':path'] === '/opentelemetry.proto.collector.trace.v1.TraceService/Export') {
          calls++;
          body += Buffer.concat(chunks).toString('latin1');
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty ExportTraceServiceResponse
      });
    });
    const port = await new Promise<number>((r) => receiver.listen(0, '127.0.0.1', () => r((receiver.address() as { port: number }).port)));
    try {
      const { a } = await pair(`    samplingRate: "1"\n    otel:\n      protocol: grpc\n      endpointAddress: 127.0.0.1:${port}\n      isSecure: false\n`);
      const res = await fetch(`http://127.0.0.1:${a.sidecar.httpPort}/v1.0/state/statestore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"key":"g","value":1}]' });
      expect(res.status).toBe(204);
      await until(() => calls > 0 && body.includes('/v1.0/state/statestore'), () => `OTLP Export calls: ${calls}`);
      expect(body).toContain('appA');
    } finally {
      receiver.close();
    }
  });
});
