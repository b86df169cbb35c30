// Traffic hijacking, HTTP_PROXY style (issue 8 part 3): unmodified client processes (curl, and a
// node app on undici's EnvHttpProxyAgent) that are only told http_proxy / https_proxy reach the
// built sidecar's forwardProxy listener, which routes each request by the target's host to its
// cluster: http://svc-a.mesh/... and http://svc-b.mesh/... to two different upstreams (absolute-form
// requests, or CONNECT tunnels as undici makes by default), and HTTPS (CONNECT secure.mesh:443)
// through a tunnel to a TLS upstream that the client verifies end to end.
// Names the proxy has no route for are refused (403, never an open proxy). Nothing is resolved or
// sent off the machine: with a proxy set, the clients hand the names to the proxy.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { inCI } from '../../test/services';
import { hasOpenssl, TestPki } from '../helpers/certs';
import { freePort, ROOT, type Sidecar, startSidecar } from '../helpers/sidecar';

const meshProxy = (spec: unknown) => JSON.stringify({ apiVersion: 'layotto.io/v1alpha1', kind: 'MeshProxy', metadata: { name: 'egress' }, spec });

/** What an upstream saw: its name and the request's host, path and forwarding header. */
const answer = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, host: req.headers.host, path: req.url, xff: req.headers['x-forwarded-for'] ?? null })));
};

const listenOn = (s: Server): Promise<number> => new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

/** Runs a command with only the given environment (no proxy settings inherited); resolves stdout. */
function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }, cwd: ROOT, timeout: 15_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr }),
    ),
  );
}

const haveCurl = async () => (await run('curl', ['--version'], {})).code === 0;

describe('HTTP_PROXY-style hijacking through a forwardProxy listener', () => {
  const servers: Server[] = [];
  let sc: Sidecar;
  let proxyUrl: string;
  let pki: TestPki;
  let caFile: string;
  let skip: string | undefined;

  beforeAll(async () => {
    if (!hasOpenssl()) skip = 'openssl';
    else if (!(await haveCurl())) skip = 'curl';
    if (skip) {
      if (inCI()) throw new Error(`${skip} is not installed (CI requires it)`);
      process.stderr.write(`\n!!! SKIPPED: ${skip} is not installed; the HTTP_PROXY hijack tests are skipped.\n\n`);
      return;
    }
    pki = new TestPki();
    const ca = pki.ca('hijack-ca');
    caFile = ca.certFile;
    const leaf = pki.issue(ca, 'secure.mesh', { dns: ['secure.mesh'] });
    const a = createServer(answer('a'));
    const b = createServer(answer('b'));
    const aTls = createHttpsServer({ cert: leaf.cert, key: leaf.key }, answer('a-tls'));
    servers.push(a, b, aTls);
    const [pa, pb, pat, port] = await Promise.all([listenOn(a), listenOn(b), listenOn(aTls), freePort()]);
    proxyUrl = `http://127.0.0.1:${port}`;
    const spec = {
      listeners: [
        {
          name: 'egress',
          address: `127.0.0.1:${port}`,
          forwardProxy: true,
          routes: [
            { name: 'a', match: { host: 'svc-a.mesh' }, cluster: 'a' },
            { name: 'b', match: { host: ['svc-b.mesh', 'svc-b'] }, cluster: 'b' },
            { name: 'secure', match: { host: 'secure.mesh' }, cluster: 'a-tls' },
          ],
        },
      ],
      clusters: [
        { name: 'a', endpoints: [`127.0.0.1:${pa}`] },
        { name: 'b', endpoints: [`127.0.0.1:${pb}`] },
        { name: 'a-tls', endpoints: [`127.0.0.1:${pat}`] },
      ],
    };
    sc = await startSidecar({ appId: 'hijack-egress', resources: { 'proxy.yaml': meshProxy(spec) } });
  });
  afterAll(async () => {
    await sc?.stop();
    for (const s of servers) s.close();
  });

  const curl = (url: string, extra: string[] = []) => run('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', ...extra, url], { http_proxy: proxyUrl, https_proxy: proxyUrl });
  const parsed = (out: string) => {
    const nl = out.lastIndexOf('\n');
    return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
  };

  it('curl with http_proxy: each service name reaches its own upstream, Host and path kept', async () => {
    if (skip) return;
    const a = parsed((await curl('http://svc-a.mesh/orders/1?x=y')).stdout);
    const b = parsed((await curl('http://svc-b.mesh/users')).stdout);
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({ name: 'a', host: 'svc-a.mesh', path: '/orders/1?x=y', xff: '127.0.0.1' });
    expect(b.status).toBe(200);
    expect(JSON.parse(b.body)).toMatchObject({ name: 'b', host: 'svc-b.mesh', path: '/users' });
  });

  it('curl with https_proxy: CONNECT secure.mesh:443 tunnels to the TLS upstream, verified end to end', async () => {
    if (skip) return;
    const r = await curl('https://secure.mesh/s', ['--cacert', caFile]);
    expect(r.stderr).toBe('');
    const a = parsed(r.stdout);
    expect(a.status).toBe(200);
    // Through a tunnel the proxy sees no HTTP: no x-forwarded-for is added.
    expect(JSON.parse(a.body)).toEqual({ name: 'a-tls', host: 'secure.mesh', path: '/s', xff: null });
  });

  it('a node app on EnvHttpProxyAgent (HTTP_PROXY / HTTPS_PROXY): tunnels (its default) and absolute-form requests', async () => {
    if (skip) return;
    const script = `
      const { EnvHttpProxyAgent, request } = require('undici');
      const tunnel = new EnvHttpProxyAgent();
      const plain = new EnvHttpProxyAgent({ proxyTunnel: false });
      (async () => {
        const out = [];
        for (const [url, dispatcher] of [['http://svc-a.mesh/n/1', tunnel], ['https://secure.mesh/n/2', tunnel], ['http://svc-b.mesh/n/3', plain]]) {
          const r = await request(url, { dispatcher });
          out.push({ status: r.statusCode, body: await r.body.json() });
        }
        console.log(JSON.stringify(out));
        await Promise.all([tunnel.close(), plain.close()]);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = await run(process.execPath, ['-e', script], { HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, NODE_EXTRA_CA_CERTS: caFile });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([
      // CONNECT svc-a.mesh:80: routed by host like a plain request, the HTTP inside passes untouched.
      { status: 200, body: { name: 'a', host: 'svc-a.mesh', path: '/n/1', xff: null } },
      { status: 200, body: { name: 'a-tls', host: 'secure.mesh', path: '/n/2', xff: null } },
      { status: 200, body: { name: 'b', host: 'svc-b.mesh', path: '/n/3', xff: '127.0.0.1' } },
    ]);
  });

  it('is no open proxy: a name without a route is refused with 403, plain and CONNECT', async () => {
    if (skip) return;
    const plain = parsed((await curl('http://example.invalid/x')).stdout);
    expect(plain).toEqual({ status: 403, body: 'no route to example.invalid' });
    const tunnel = await curl('https://example.invalid/x');
    expect(tunnel.code).not.toBe(0);
    expect(tunnel.stderr).toMatch(/403/);
  });

  it('counts the forwarded requests and tunnels on the listener (/v1.0/metadata)', async () => {
    if (skip) return;
    const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { meshProxy?: { listeners: { name: string; stats: Record<string, number> }[] } };
    const egress = md.meshProxy?.listeners.find((l) => l.name === 'egress');
    // Absolute-form: curl's two, the refused one and the node app's one; tunnels: curl's and the node app's two.
    expect(egress?.stats).toMatchObject({ requests: 4, tunnels: 3 });
  });
});
