// The binary as a process: flags, startup errors, default components, logs, graceful shutdown.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { componentYaml, MAIN, ROOT, startSidecar } from '../helpers/sidecar';

const run = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 15000 });

describe('command line', () => {
  it('--help lists the daprd flags', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const f of ['--app-id', '--app-port', '--app-protocol', '--dapr-http-port', '--dapr-grpc-port', '--resources-path', '--config', '--metrics-port', '--log-level', '--log-as-json', '--max-body-size', '--dapr-listen-addresses', '--dapr-graceful-shutdown-seconds', '--layotto-grpc-port']) {
      expect(r.stdout).toContain(f);
    }
  });

  it.each([
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
    [['--dapr-http-port', 'abc'], /--dapr-http-port must be a port number/],
    [['--max-body-size', 'huge'], /invalid size/],
  ])('%j exits non-zero with a one-line reason', (args, reason) => {
    const r = run(args);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(reason);
  });
});

describe('startup errors', () => {
  it.each([
    ['a YAML syntax error', 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: [x\n', /bad\.yaml:\d+: YAML syntax error/],
    ['an unknown component type', componentYaml('s', 'state.nosuch'), /bad\.yaml:6: spec\.type: couldn't find component type state\.nosuch\/v1/],
    ['a missing field', 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n', /bad\.yaml:\d+: spec: /],
  ])('%s stops startup naming file, line and field', async (_what, yaml, msg) => {
    const sc = await startSidecar({ resources: { 'bad.yaml': yaml }, wait: false });
    expect(await sc.exited).toBe(1);
    expect(sc.output()).toMatch(msg);
    expect(sc.output()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('ignoreErrors lets the sidecar start anyway', async () => {
    const sc = await startSidecar({ resources: { 'bad.yaml': componentYaml('s', 'state.nosuch', {}, '') .replace('version: v1', 'version: v1\n  ignoreErrors: true') } });
    try {
      const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { id: string; components?: unknown[] };
      expect(md.components ?? []).toEqual([]);
    } finally {
      await sc.stop();
    }
  });

  it('a port already taken stops startup naming the address, and the process exits (nothing left open)', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      // The metrics port is bound last: every API server and the sidecar-to-sidecar server are up by then.
      const sc = await startSidecar({ resources: { 's.yaml': componentYaml('s', 'state.in-memory') }, args: ['--metrics-port', String(port), '--metrics-listen-address', '127.0.0.1'], wait: false });
      expect(await sc.exited).toBe(1);
      expect(sc.output()).toMatch(new RegExp(`metrics server cannot listen on 127\\.0\\.0\\.1:${port}`));
      expect(sc.output()).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  });
});

describe('running on the embedded defaults', () => {
  it('serves the top-level components/ (what npm start uses) and logs Dapr JSON fields', async () => {
    const sc = await startSidecar({ resourcesPaths: [join(ROOT, 'components')], args: ['--log-as-json'] });
    try {
      const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { id: string; components?: unknown[] };
      expect(md.id).toBe('compat-app');
      expect(md.components).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'statestore', type: 'state.in-memory', version: 'v1' })]));
      const line = sc.output().split('\n').find((l) => l.includes('component loaded'))!;
      const rec = JSON.parse(line);
      expect(rec).toMatchObject({ level: 'info', type: 'log', scope: 'dapr.runtime.processor', app_id: 'compat-app' });
      expect(rec).toHaveProperty('instance');
      expect(rec).toHaveProperty('ver');
      expect(new Date(rec.time).toISOString()).toBe(rec.time);
    } finally {
      expect(await sc.stop()).toBe(0);
    }
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM stops accepting, exits 0 and closes components', async () => {
    const sc = await startSidecar({ resources: { 's.yaml': componentYaml('statestore', 'state.in-memory') } });
    expect(await sc.stop('SIGTERM')).toBe(0);
    expect(sc.output()).toMatch(/shutdown complete/);
    await expect(fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).rejects.toThrow();
  });

  it('an in-flight request finishes within the grace period', async () => {
    const sc = await startSidecar({ resources: { 's.yaml': componentYaml('statestore', 'state.in-memory') } });
    const big = JSON.stringify([{ key: 'k', value: 'x'.repeat(1024 * 1024) }]);
    // Start a slow upload, then signal while it is in flight.
    const { request } = await import('node:http');
    const status = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: sc.httpPort, method: 'POST', path: '/v1.0/state/statestore', headers: { 'content-length': Buffer.byteLength(big) } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(big.slice(0, 1000));
      setTimeout(() => {
        sc.proc.kill('SIGTERM');
        setTimeout(() => req.end(big.slice(1000)), 300);
      }, 200);
    });
    expect(await status).toBe(204);
    expect(await sc.exited).toBe(0);
  });

  it('POST /v1.0/shutdown answers 204 and stops the process', async () => {
    const sc = await startSidecar({ resources: { 's.yaml': componentYaml('statestore', 'state.in-memory') } });
    const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/shutdown`, { method: 'POST' });
    expect(r.status).toBe(204);
    expect(await sc.exited).toBe(0);
  });
});
