// Hot reload starting and stopping the mesh proxy, against the built binary: a sidecar started
// without MeshProxy resources starts the proxy when the first one is written (requests reach the
// upstream, the actuator and the metadata API list it), stops it when the last is deleted (the
// port refuses, a request in flight finishes), starts it again when one comes back, and a
// MeshProxy whose listener cannot bind is logged with nothing left listening, the sidecar healthy.
import { rmSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { join } from 'node:path';
import { sleep, until } from '../../test/wait';
import { PlainApp } from '../helpers/invoke';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

/** Writes a file the way editors save: a temporary file renamed over the old one. */
function saveFile(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}
const logged = (sc: Sidecar, from: number, text: string, ms = 15000) => until(() => sc.output().slice(from).includes(text), () => `log line "${text}"; log since the edit:\n${sc.output().slice(from)}`, ms);

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });
}

const listenerYaml = (name: string, port: number) => `    - name: ${name}
      address: 127.0.0.1:${port}
      routes:
        - name: all
          match: { pathPrefix: / }
          cluster: up
`;
const proxyYaml = (up: PlainApp, ...listeners: [string, number][]) => `apiVersion: layotto.io/v1
kind: MeshProxy
metadata:
  name: edge
spec:
  listeners:
${listeners.map(([n, p]) => listenerYaml(n, p)).join('')}  clusters:
    - name: up
      endpoints: ["127.0.0.1:${up.port}"]
`;

describe('hot reload starts and stops the mesh proxy', () => {
  let sc: Sidecar;
  const up = new PlainApp();
  let actuatorPort: number;
  let proxyPort: number;
  const file = () => join(sc.resourcesDir!, 'proxy.yaml');
  const viaProxy = (path = '/x') => fetch(`http://127.0.0.1:${proxyPort}${path}`, { headers: { connection: 'close' } });
  const actuatorProxy = () => fetch(`http://127.0.0.1:${actuatorPort}/actuator/proxy`);
  const metadata = async () => (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { meshProxy?: { listeners: { name: string; address: string }[] } };

  beforeAll(async () => {
    await up.start();
    up.script = (s, r) => {
      if (s.url === '/slow') void sleep(1000).then(() => r.writeHead(200).end('slow done'));
      else r.writeHead(200).end(`upstream saw ${s.url}`);
    };
    [actuatorPort, proxyPort] = await Promise.all([freePort(), freePort()]);
    sc = await startSidecar({ appId: 'hot-reload-proxy', resources: {}, args: ['--actuator-port', String(actuatorPort)] });
  });

  afterAll(async () => {
    await sc?.stop();
    await up.stop();
  });

  it('no proxy at startup: nothing listens, the actuator answers 404 and the metadata has no meshProxy', async () => {
    expect(await accepts(proxyPort)).toBe(false);
    expect((await actuatorProxy()).status).toBe(404);
    expect((await metadata()).meshProxy).toBeUndefined();
  });

  it('the first MeshProxy written starts the proxy: requests reach the upstream, the actuator and metadata list it', async () => {
    const from = sc.output().length;
    saveFile(file(), proxyYaml(up, ['edge', proxyPort]));
    await logged(sc, from, 'mesh proxy started (1 MeshProxy resources)');
    const r = await viaProxy('/first');
    expect([r.status, await r.text()]).toEqual([200, 'upstream saw /first']);
    const snap = await actuatorProxy();
    expect(snap.status).toBe(200);
    expect(((await snap.json()) as { listeners: { name: string }[] }).listeners.map((l) => l.name)).toEqual(['edge']);
    expect((await metadata()).meshProxy?.listeners).toEqual([expect.objectContaining({ name: 'edge', address: `127.0.0.1:${proxyPort}` })]);
  });

  it('deleting the last MeshProxy stops the proxy: the port refuses, a request in flight finishes', async () => {
    const slow = viaProxy('/slow');
    await until(() => up.seen.some((s) => s.url === '/slow'), () => 'the slow request at the upstream');
    const from = sc.output().length;
    rmSync(file());
    await logged(sc, from, 'mesh proxy stopped');
    await until(async () => !(await accepts(proxyPort)), () => `port ${proxyPort} still accepting`, 5000);
    const r = await slow;
    expect([r.status, await r.text()]).toEqual([200, 'slow done']);
    expect((await actuatorProxy()).status).toBe(404);
    expect((await metadata()).meshProxy).toBeUndefined();
  });

  it('written again, the proxy starts again on the same port', async () => {
    const from = sc.output().length;
    saveFile(file(), proxyYaml(up, ['edge', proxyPort]));
    await logged(sc, from, 'mesh proxy started');
    const r = await viaProxy('/again');
    expect([r.status, await r.text()]).toEqual([200, 'upstream saw /again']);
    expect((await actuatorProxy()).status).toBe(200);
    // Gone again, for the next case.
    const gone = sc.output().length;
    rmSync(file());
    await logged(sc, gone, 'mesh proxy stopped');
  });

  it('a listener port taken: logged with file:line, nothing listens half-way, the sidecar stays healthy; the next edit retries', async () => {
    const takenPort = await freePort();
    const blocker: Server = createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(takenPort, '127.0.0.1', () => r()));
    try {
      const from = sc.output().length;
      // The first listener binds; the second cannot: the first must be released again.
      saveFile(file(), proxyYaml(up, ['edge', proxyPort], ['second', takenPort]));
      await logged(sc, from, 'hot reload: MeshProxy not applied, the mesh proxy is not started');
      expect(sc.output().slice(from)).toMatch(/proxy\.yaml:\d+: /);
      expect(await accepts(proxyPort)).toBe(false);
      expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).status).toBe(204);
      expect((await actuatorProxy()).status).toBe(404);
      expect((await metadata()).meshProxy).toBeUndefined();
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    // The port is free now: the next edit of the file starts the proxy.
    const from = sc.output().length;
    saveFile(file(), proxyYaml(up, ['edge', proxyPort], ['second', takenPort]).replace('name: edge\nspec', 'name: edge\n  labels: { retry: "1" }\nspec'));
    await logged(sc, from, 'mesh proxy started');
    const r = await fetch(`http://127.0.0.1:${takenPort}/retried`, { headers: { connection: 'close' } });
    expect([r.status, await r.text()]).toEqual([200, 'upstream saw /retried']);
    expect(sc.proc.exitCode).toBeNull();
  });
});
