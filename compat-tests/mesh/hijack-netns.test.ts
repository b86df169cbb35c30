// Traffic hijacking by an iptables redirect in a network namespace (issue 8 part 3), as a service
// mesh sets up a pod: the built sidecar runs inside a private namespace with a MeshProxy http
// listener; the namespace's nat OUTPUT chain redirects TCP to a fake service range on port 80 to
// that listener; its /etc/hosts names the services in that range. Unmodified clients inside
// (curl, a node app using fetch, an HTTP/2 client, a grpc-js client) call http://svc-a.mesh/,
// http://svc-b.mesh/ and svc-g.mesh:80, and the proxy routes each by Host / :authority to its
// cluster: upstreams in the root namespace on the veth's address, on ports other than 80, so the
// proxy's own upstream connections are never redirected (no loop). The namespace has no default
// route and the service range is local to it: nothing can leave the machine. Needs root, iproute2
// and iptables: skipped loudly without them, failed in CI.
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { echoService } from '../../test/grpc-echo';
import { inCI } from '../../test/services';
import { MAIN, ROOT } from '../helpers/sidecar';
import { createNetns, type Netns, netnsUnsupported, serviceIp } from './hijack-netns';

const PROXY_PORT = 15001; // inside the namespace every port is free
const HTTP_PORT = 3500;
const HOSTS = { 'svc-a.mesh': serviceIp(10), 'svc-b.mesh': serviceIp(11), 'svc-g.mesh': serviceIp(12), 'svc-z.mesh': serviceIp(13) };

const meshProxy = (spec: unknown) => JSON.stringify({ apiVersion: 'layotto.io/v1alpha1', kind: 'MeshProxy', metadata: { name: 'outbound' }, spec });

const answer = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, host: req.headers.host, path: req.url, proxied: req.headers['x-forwarded-for'] !== undefined })));
};

describe('iptables redirect in a network namespace to the sidecar proxy', () => {
  let ns: Netns | undefined;
  let sidecar: ChildProcess | undefined;
  let output = '';
  const servers: Server[] = [];
  let grpcServer: grpc.Server | undefined;
  const grpcSeen: { proxied: boolean }[] = [];
  let skip: string | undefined;

  beforeAll(async () => {
    skip = netnsUnsupported();
    if (skip) {
      if (inCI()) throw new Error(`${skip} (CI requires the namespace hijack test)`);
      process.stderr.write(`\n!!! SKIPPED: ${skip}; the iptables/network-namespace hijack test is skipped.\n\n`);
      return;
    }
    ns = createNetns(HOSTS);
    const hostIp = ns.hostIp;
    const listen = (s: Server) => new Promise<number>((r) => s.listen(0, hostIp, () => r((s.address() as AddressInfo).port)));
    const a = createServer(answer('a'));
    const b = createServer(answer('b'));
    servers.push(a, b);
    const [pa, pb] = await Promise.all([listen(a), listen(b)]);
    grpcServer = new grpc.Server();
    grpcServer.addService(echoService, {
      Unary: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        grpcSeen.push({ proxied: call.metadata.get('x-forwarded-for').length > 0 });
        cb(null, { text: `g:${call.request.text}` });
      },
      ServerStream: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
      ClientStream: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
      Bidi: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
    });
    const pg = await new Promise<number>((r, j) => grpcServer!.bindAsync(`${hostIp}:0`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));

    const spec = {
      listeners: [
        {
          name: 'outbound',
          address: `0.0.0.0:${PROXY_PORT}`,
          routes: [
            { name: 'a', match: { host: 'svc-a.mesh' }, cluster: 'a' },
            { name: 'b', match: { host: 'svc-b.mesh' }, cluster: 'b' },
            { name: 'g', match: { host: 'svc-g.mesh', grpc: { service: 'proxytest.v1.Echo' } }, cluster: 'g' },
          ],
        },
      ],
      clusters: [
        // HTTP/1.1 upstreams: an h2c request is forwarded to them over HTTP/1.1.
        { name: 'a', endpoints: [`${hostIp}:${pa}`], protocol: 'http1' },
        { name: 'b', endpoints: [`${hostIp}:${pb}`], protocol: 'http1' },
        { name: 'g', endpoints: [`${hostIp}:${pg}`], protocol: 'h2c' },
      ],
    };
    const res = mkdtempSync(join(tmpdir(), 'layotto-ts-hijack-res-'));
    writeFileSync(join(res, 'proxy.yaml'), meshProxy(spec));
    const args = [MAIN, '--app-id', 'hijack-ns', '--dapr-http-port', String(HTTP_PORT), '--dapr-grpc-port', '50001', '--layotto-grpc-port', '0', '--metrics-port', '9090', '--actuator-port', '0', '--dapr-listen-addresses', ns.nsIp, '--resources-path', res];
    sidecar = ns.spawn(process.execPath, args, { env: { ...process.env, HOME: mkdtempSync(join(tmpdir(), 'layotto-ts-hijack-home-')) } });
    sidecar.stdout!.on('data', (d) => (output += d));
    sidecar.stderr!.on('data', (d) => (output += d));
    // Healthy, seen from the root namespace across the veth.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (sidecar.exitCode !== null) throw new Error(`the sidecar exited with ${sidecar.exitCode}:\n${output}`);
      const ok = await fetch(`http://${ns.nsIp}:${HTTP_PORT}/v1.0/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 204, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`the sidecar did not become healthy:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Only now: the redirect sends the fake service range's port 80 to the proxy's listener.
    ns.redirectServicesTo(PROXY_PORT);
  }, 60_000);

  afterAll(async () => {
    if (sidecar && sidecar.exitCode === null) {
      const exited = new Promise((r) => sidecar!.once('exit', r));
      sidecar.kill('SIGTERM');
      const force = setTimeout(() => sidecar!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    }
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    grpcServer?.forceShutdown();
    ns?.destroy();
  });

  const curl = async (url: string) => {
    const out = await ns!.exec('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', url]);
    const nl = out.lastIndexOf('\n');
    return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
  };

  it('curl to http://svc-a.mesh and http://svc-b.mesh reaches each service through the proxy, by Host', async () => {
    if (skip) return;
    const a = await curl('http://svc-a.mesh/orders?id=1');
    const b = await curl('http://svc-b.mesh/users');
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({ name: 'a', host: 'svc-a.mesh', path: '/orders?id=1', proxied: true });
    expect(b.status).toBe(200);
    expect(JSON.parse(b.body)).toEqual({ name: 'b', host: 'svc-b.mesh', path: '/users', proxied: true });
  });

  it('a node app calling fetch() is hijacked the same way, without knowing', async () => {
    if (skip) return;
    const script = `Promise.all(['http://svc-a.mesh/1', 'http://svc-b.mesh/2'].map((u) => fetch(u).then((r) => r.json()))).then((x) => console.log(JSON.stringify(x)))`;
    const out = JSON.parse(await ns!.exec(process.execPath, ['-e', script]));
    expect(out).toEqual([
      { name: 'a', host: 'svc-a.mesh', path: '/1', proxied: true },
      { name: 'b', host: 'svc-b.mesh', path: '/2', proxied: true },
    ]);
  });

  it('an h2c request is routed by :authority, port ignored (and forwarded to the HTTP/1.1 upstream)', async () => {
    if (skip) return;
    const script = `
      const http2 = require('node:http2');
      const s = http2.connect('http://svc-b.mesh');
      const req = s.request({ ':path': '/h2' });
      let body = '';
      let status;
      req.on('response', (h) => (status = h[':status']));
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => { console.log(JSON.stringify({ status, body: JSON.parse(body) })); s.close(); });
      req.end();`;
    expect(JSON.parse(await ns!.exec(process.execPath, ['-e', script]))).toEqual({ status: 200, body: { name: 'b', host: 'svc-b.mesh:80', path: '/h2', proxied: true } });
  });

  it('a grpc-js client calling svc-g.mesh:80 reaches the gRPC upstream by :authority and service', async () => {
    if (skip) return;
    const script = `
      const grpc = require('@grpc/grpc-js');
      const loader = require('@grpc/proto-loader');
      const def = loader.loadSync('test/grpc-echo/echo.proto', { keepCase: true, defaults: true });
      const { Echo } = grpc.loadPackageDefinition(def).proxytest.v1;
      const c = new Echo('svc-g.mesh:80', grpc.credentials.createInsecure(), { 'grpc.service_config_disable_resolution': 1 });
      c.Unary({ text: 'hello' }, { deadline: Date.now() + 10000 }, (e, r) => {
        console.log(JSON.stringify(e ? { code: e.code, details: e.details } : { text: r.text }));
        c.close();
      });`;
    expect(JSON.parse(await ns!.exec(process.execPath, ['-e', script], { cwd: ROOT }))).toEqual({ text: 'g:hello' });
    expect(grpcSeen.at(-1)?.proxied).toBe(true);
  });

  it('a service without a route gets the proxy\'s 404 "no route"; other ports are not redirected', async () => {
    if (skip) return;
    expect(await curl('http://svc-z.mesh/x')).toEqual({ status: 404, body: 'no route' });
    // Port 8080 of the service range is not hijacked: refused inside the namespace (nothing leaves).
    await expect(ns!.exec('curl', ['-sS', '--max-time', '5', 'http://svc-a.mesh:8080/'])).rejects.toThrow(/Failed to connect|Couldn't connect/);
  });
});
