// nameresolution.mdns over real multicast, only inside two network namespaces this suite creates
// (a veth pair with addresses of its own, 10.213.7.1 and .2): no datagram leaves the machine.
// An agent process in each namespace drives the built resolver (dist/) or fetches through a
// sidecar there; the full path runs two built sidecars, one per namespace.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inCI } from '../../test/services';
import { until } from '../../test/wait';
import { MAIN, ROOT } from '../helpers/sidecar';

const NS_A = `lt-mdns-a-${process.pid}`;
const NS_B = `lt-mdns-b-${process.pid}`;
const IP_A = '10.213.7.1';
const IP_B = '10.213.7.2';

function netnsUsable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

const VETH = `ltm${process.pid % 100000}`;

function createNamespaces(): void {
  const veth = VETH;
  ip('netns', 'add', NS_A);
  ip('netns', 'add', NS_B);
  ip('link', 'add', `${veth}a`, 'type', 'veth', 'peer', 'name', `${veth}b`);
  ip('link', 'set', `${veth}a`, 'netns', NS_A);
  ip('link', 'set', `${veth}b`, 'netns', NS_B);
  for (const [ns, dev, addr] of [[NS_A, `${veth}a`, IP_A], [NS_B, `${veth}b`, IP_B]] as const) {
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
    // The namespaces have no default route: give multicast one, over the veth link only.
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev);
  }
}

function deleteNamespaces(): void {
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* not created */
    }
  }
}

/** Commands as JSON lines on stdin, answers as JSON lines on stdout (one per command, in order). */
const AGENT = `
const readline = require('node:readline');
const http = require('node:http');
const { MdnsResolver } = require(${JSON.stringify(join(ROOT, 'dist/components/nameresolution/mdns/index.js'))});
const resolvers = new Map();
const ops = {
  async init({ name, appId, port }) {
    const r = new MdnsResolver();
    await r.init({ instance: { appId, namespace: '', address: '', daprInternalPort: port }, configuration: { resolveTimeout: '1s' } });
    resolvers.set(name, r);
  },
  resolve: ({ name, id }) => resolvers.get(name).resolve({ id, namespace: '', port: 0 }),
  async close({ name }) { await resolvers.get(name).close(); resolvers.delete(name); },
  async app({ port, answer }) {
    const handler = (req, res) => {
      if (req.url.startsWith('/dapr/')) return res.writeHead(404).end(); // no subscriptions
      req.resume();
      req.on('end', () => res.end(answer + ' ' + req.method + ' ' + req.url));
    };
    await new Promise((r) => http.createServer(handler).listen(port, '127.0.0.1', r));
  },
  async fetch({ url }) { const res = await fetch(url); return { status: res.status, body: await res.text() }; },
};
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const cmd = JSON.parse(line);
  try { process.stdout.write(JSON.stringify({ ok: (await ops[cmd.op](cmd)) ?? null }) + '\\n'); }
  catch (e) { process.stdout.write(JSON.stringify({ error: e.message }) + '\\n'); }
});
process.stdin.on('end', async () => { for (const r of resolvers.values()) await r.close(); process.exit(0); });
`;

interface Agent {
  run(cmd: Record<string, unknown>): Promise<{ ok?: unknown; error?: string }>;
  stop(): Promise<void>;
}

function agent(ns: string): Agent {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', AGENT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((v: { ok?: unknown; error?: string }) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => waiting.shift()?.(JSON.parse(l)));
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    run: (cmd) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        proc.stdin!.write(JSON.stringify(cmd) + '\n');
      }),
    stop: async () => {
      proc.stdin!.end();
      await exited;
    },
  };
}

const usable = netnsUsable();
if (!usable) {
  if (inCI()) throw new Error('the mDNS suite needs root and `ip netns` (CI runs as root)');
  process.stderr.write('\n!!! SKIPPED: mDNS tests need root and `ip netns`; they never multicast outside a private namespace.\n\n');
}
const suite = usable ? describe : describe.skip;

suite('nameresolution.mdns across two network namespaces', () => {
  let a: Agent;
  let b: Agent;
  beforeAll(() => {
    deleteNamespaces();
    createNamespaces();
  });
  afterAll(deleteNamespaces);
  beforeEach(() => {
    a = agent(NS_A);
    b = agent(NS_B);
  });
  afterEach(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('finds an app announced on the other host: its address on the link and its internal port', async () => {
    expect(await b.run({ op: 'init', name: 'b1', appId: 'app2', port: 47001 })).toEqual({ ok: null });
    expect(await a.run({ op: 'init', name: 'a1', appId: 'app1', port: 47000 })).toEqual({ ok: null });
    expect(await a.run({ op: 'resolve', name: 'a1', id: 'app2' })).toEqual({ ok: { host: IP_B, port: 47001 } });
    expect(await b.run({ op: 'resolve', name: 'b1', id: 'app1' })).toEqual({ ok: { host: IP_A, port: 47000 } });
    expect(await a.run({ op: 'resolve', name: 'a1', id: 'nobody' })).toEqual({ error: "couldn't find service: nobody" });
  });

  it('spreads over the instances of one app id, and drops one that says goodbye', async () => {
    await b.run({ op: 'init', name: 'b1', appId: 'app2', port: 47001 });
    await b.run({ op: 'init', name: 'b2', appId: 'app2', port: 47002 });
    await a.run({ op: 'init', name: 'a1', appId: 'app1', port: 47000 });
    const ports = new Set<number>();
    await until(
      async () => {
        const r = await a.run({ op: 'resolve', name: 'a1', id: 'app2' });
        ports.add((r.ok as { port: number }).port);
        return ports.size === 2;
      },
      () => `ports seen: ${[...ports]}`,
      10000,
    );
    await b.run({ op: 'close', name: 'b2' });
    // The goodbye crosses the link as a multicast packet: once it is in, only b1 answers, long before
    // the record's TTL would have run out.
    let after = new Set<number>();
    await until(
      async () => {
        after = new Set<number>();
        for (let i = 0; i < 4; i++) after.add(((await a.run({ op: 'resolve', name: 'a1', id: 'app2' })).ok as { port: number }).port);
        return after.size === 1 && after.has(47001);
      },
      () => `ports seen after the goodbye: ${[...after]}`,
      5000,
    );
  });

  describe('the full path: app → sidecar (host A) → sidecar (host B) → app', () => {
    let dir: string;
    const procs: ChildProcess[] = [];
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'layotto-ts-mdns-'));
      writeFileSync(join(dir, 'config.yaml'), 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: mdns\nspec:\n  nameResolution:\n    component: mdns\n');
      // Calls to app2: 1 s timeout, no retries; two failures in a row open the breaker for 3 s.
      mkdirSync(join(dir, 'resources'));
      writeFileSync(
        join(dir, 'resources', 'resiliency.yaml'),
        [
          'apiVersion: dapr.io/v1alpha1',
          'kind: Resiliency',
          'metadata:',
          '  name: app2-breaker',
          'spec:',
          '  policies:',
          '    timeouts:',
          '      fast: 1s',
          '    circuitBreakers:',
          '      app2cb:',
          '        maxRequests: 1',
          '        timeout: 3s',
          '        trip: consecutiveFailures >= 2',
          '  targets:',
          '    apps:',
          '      app2:',
          '        timeout: fast',
          '        circuitBreaker: app2cb',
          '',
        ].join('\n'),
      );
    });
    afterAll(async () => {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
      rmSync(dir, { recursive: true, force: true });
    });

    function sidecar(ns: string, appId: string, appPort: number): { out: () => string } {
      const args = [MAIN, '--app-id', appId, '--app-port', String(appPort), '--dapr-http-port', '3500', '--dapr-grpc-port', '50001', '--layotto-grpc-port', '0', '--metrics-port', '9090', '--config', join(dir, 'config.yaml'), '--resources-path', join(dir, 'resources')];
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { env: { ...process.env, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      p.stderr!.on('data', (d) => (out += d));
      procs.push(p);
      return { out: () => out };
    }

    it('invokes app2 on host B from host A by app id, found over mDNS; a cut link opens the breaker, which closes once the link is back', async () => {
      await b.run({ op: 'app', port: 8080, answer: 'app2 on B' });
      await a.run({ op: 'app', port: 8080, answer: 'app1 on A' });
      const sb = sidecar(NS_B, 'app2', 8080);
      const sa = sidecar(NS_A, 'app1', 8080);
      const healthy = async (ag: Agent) => ((await ag.run({ op: 'fetch', url: 'http://127.0.0.1:3500/v1.0/healthz' })).ok as { status: number } | undefined)?.status === 204;
      await until(async () => (await healthy(a)) && (await healthy(b)), () => `sidecars not healthy:\n${sa.out()}\n${sb.out()}`, 20000);
      expect(sa.out()).toContain('Initialized name resolution to mdns');
      const res = await a.run({ op: 'fetch', url: 'http://127.0.0.1:3500/v1.0/invoke/app2/method/orders?x=1' });
      expect(res).toEqual({ ok: { status: 200, body: 'app2 on B GET /orders?x=1' } });

      // Cut the link: calls time out (1 s), the breaker opens and fails calls at once.
      ip('-n', NS_B, 'link', 'set', `${VETH}b`, 'down');
      const call = async () => {
        const started = Date.now();
        const r = (await a.run({ op: 'fetch', url: 'http://127.0.0.1:3500/v1.0/invoke/app2/method/x' })).ok as { status: number; body: string };
        return { ...r, ms: Date.now() - started };
      };
      const failures = [await call(), await call()];
      for (const f of failures) expect(f).toMatchObject({ status: 500 });
      expect(JSON.parse(failures[0]!.body).errorCode).toBe('ERR_DIRECT_INVOKE');
      const open = await call();
      expect(open.status).toBe(500);
      expect(JSON.parse(open.body).message).toMatch(/circuit breaker is open/);
      expect(open.ms).toBeLessThan(500);

      // Restore it: once the breaker's timeout passes, a trial call goes through and closes it.
      ip('-n', NS_B, 'link', 'set', `${VETH}b`, 'up');
      let last: Awaited<ReturnType<typeof call>> | undefined;
      await until(async () => (last = await call()).status === 200, () => `still failing: ${JSON.stringify(last)}`, 30000);
      expect(last!.body).toBe('app2 on B GET /x');
      expect((await call()).status).toBe(200);
    }, 60000);
  });
});
