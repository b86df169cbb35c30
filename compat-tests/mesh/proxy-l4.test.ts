// The mesh proxy's TCP listener and forward proxy (HTTP_PROXY style) in the built sidecar, and its
// graceful stop: bytes through to a real echo server (past a refusing endpoint), absolute-form and
// CONNECT requests from undici's ProxyAgent routed by the target host, unrouted hosts refused.
import { connect, createServer, type Server } from 'node:net';
import { fetch, ProxyAgent } from 'undici';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { closeServer, type Echo, echoServer, http1 } from './upstreams';

let sc: Sidecar;
let tcpPort: number;
let fwdPort: number;
let deadPort: number;
let echoTcp: Server & { port?: number };
let web: Echo;

beforeAll(async () => {
  web = await echoServer('web');
  echoTcp = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echoTcp.listen(0, '127.0.0.1', () => r()));
  [tcpPort, fwdPort, deadPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const yaml = `apiVersion: layotto.io/v1
kind: MeshProxy
metadata:
  name: l4
spec:
  listeners:
    - name: tcp-echo
      address: 127.0.0.1:${tcpPort}
      protocol: tcp
      cluster: echo
    - name: egress
      address: 127.0.0.1:${fwdPort}
      forwardProxy: true
      routes:
        - match: { host: [svc.local, "*.svc.local"] }
          cluster: web
  clusters:
    - name: echo
      endpoints: ["127.0.0.1:${deadPort}", "127.0.0.1:${(echoTcp.address() as { port: number }).port}"]
    - name: web
      endpoints: ["127.0.0.1:${web.port}"]
`;
  sc = await startSidecar({ appId: 'mesh-l4', resources: { 'proxy.yaml': yaml } });
});

afterAll(async () => {
  await sc?.stop();
  await Promise.all([web && closeServer(web), new Promise((r) => echoTcp?.close(r))]);
});

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(text));
    let got = '';
    s.on('data', (c) => (got += c));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}

describe('TCP listener', () => {
  it('tunnels bytes both ways, past an endpoint that refuses', async () => {
    const payload = 'x'.repeat(200_000);
    for (let i = 0; i < 3; i++) expect(await roundTrip(tcpPort, payload)).toBe(payload);
    const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { meshProxy: { listeners: { name: string; stats: Record<string, number> }[] } };
    const tcp = md.meshProxy.listeners.find((l) => l.name === 'tcp-echo')!;
    expect(tcp.stats).toMatchObject({ connections: 3, active: 0, failed: 0, bytesSent: 600_000, bytesReceived: 600_000 });
  });
});

describe('forward proxy', () => {
  it('absolute-form requests (proxyTunnel off) are routed by the target host and sent in origin-form', async () => {
    const dispatcher = new ProxyAgent({ uri: `http://127.0.0.1:${fwdPort}`, proxyTunnel: false });
    const r = await fetch('http://api.svc.local:8080/orders?id=1', { dispatcher });
    const seen = (await r.json()) as { name: string; url: string; headers: Record<string, string> };
    expect([r.status, seen.name, seen.url, seen.headers.host]).toEqual([200, 'web', '/orders?id=1', 'api.svc.local:8080']);
    const refused = await fetch('http://example.com/', { dispatcher });
    expect([refused.status, await refused.text()]).toEqual([403, 'no route to example.com']);
    await dispatcher.close();
  });

  it('CONNECT opens a tunnel to the cluster the host routes to; other hosts are refused', async () => {
    const dispatcher = new ProxyAgent({ uri: `http://127.0.0.1:${fwdPort}` });
    const r = await fetch('http://svc.local/tunnelled', { dispatcher });
    const seen = (await r.json()) as { name: string; url: string };
    expect([r.status, seen.name, seen.url]).toEqual([200, 'web', '/tunnelled']);
    await expect(fetch('http://example.com/', { dispatcher })).rejects.toThrow();
    await dispatcher.close();
  });

  it('a plain request to the listener is routed by its Host header', async () => {
    expect(JSON.parse((await http1(fwdPort, '/plain', { headers: { host: 'svc.local' } })).text).url).toBe('/plain');
  });
});

describe('graceful stop', () => {
  it('lets an in-flight request finish and refuses new connections', async () => {
    const slow = http1(fwdPort, '/slow/1200', { headers: { host: 'svc.local' } });
    await new Promise((r) => setTimeout(r, 200));
    const exit = sc.stop();
    await new Promise((r) => setTimeout(r, 300));
    await expect(http1(fwdPort, '/', { headers: { host: 'svc.local' } })).rejects.toThrow(/ECONNREFUSED/);
    const r = await slow;
    expect([r.status, JSON.parse(r.text).url]).toEqual([200, '/slow/1200']);
    expect(await exit).toBe(0);
  });
});
