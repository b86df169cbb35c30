import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Core } from '../core';
import { loadResources, ManifestError } from './loader';
import { startConfiguredProxy } from './mesh-proxy';

const log = pino({ level: 'silent' });
const core = { invoke: { invoke: () => Promise.reject(new Error('unused')) } } as unknown as Core;

const doc = (spec: string, extra = '') => `apiVersion: layotto.io/v1\nkind: MeshProxy\nmetadata:\n  name: mp\n${extra}spec:\n${spec}`;

/** Loads the files and starts the proxy; answers the startup error's message (or stops the proxy). */
async function startupError(files: Record<string, string>, appId = 'me'): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-proxy-wiring-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  try {
    const loaded = loadResources([dir], log);
    const proxy = await startConfiguredProxy(loaded.meshProxies, { appId, log, core, resiliencies: loaded.resiliencies });
    await proxy?.stop(0);
    return proxy ? undefined : 'not started';
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as Error).message.replace(dir + '/', '');
  }
}

let taken: Server;
beforeAll(() => new Promise<void>((r) => (taken = createServer()).listen(0, '127.0.0.1', () => r())));
afterAll(() => new Promise((r) => taken.close(r)));

describe('MeshProxy resources: errors name file:line and field', () => {
  it.each([
    ['an unknown filter type', doc('  listeners:\n    - name: l\n      address: 0\n      filters:\n        - type: proxy.nosuch\n'), /^p\.yaml:10: spec\.listeners\.0\.filters\.0\.type: filter proxy\.nosuch: unknown filter type "proxy\.nosuch"/],
    ['a bad header regex', doc('  listeners:\n    - name: l\n      address: 0\n      routes:\n        - match:\n            headers:\n              - name: x\n                regex: "("\n          cluster: c\n  clusters:\n    - name: c\n      endpoints: ["127.0.0.1:1"]\n'), /^p\.yaml:13: spec\.listeners\.0\.routes\.0\.match\.headers\.0\.regex: Invalid regular expression: \/\(\/: Unterminated group$/],
    ['a schema error', doc('  clusters:\n    - name: c\n      lbPolicy: fastest\n      endpoints: ["127.0.0.1:1"]\n'), /^p\.yaml:8: spec\.clusters\.0\.lbPolicy: Invalid option/],
    ['a cluster with both endpoints and appId', doc('  clusters:\n    - name: c\n      appId: x\n      endpoints: ["127.0.0.1:1"]\n'), /^p\.yaml:7: spec\.clusters\.0: a cluster takes either endpoints or appId/],
    ['a tcp listener without a cluster', doc('  listeners:\n    - name: t\n      address: 0\n      protocol: tcp\n'), /^p\.yaml:7: spec\.listeners\.0\.cluster: a cluster is required/],
    ['prefixRewrite without a path match', doc('  listeners:\n    - name: l\n      address: 0\n      routes:\n        - cluster: c\n          prefixRewrite: /x\n  clusters:\n    - name: c\n      endpoints: ["127.0.0.1:1"]\n'), /^p\.yaml:11: spec\.listeners\.0\.routes\.0\.prefixRewrite: prefixRewrite needs a path or pathPrefix match/],
    ['a retry policy no Resiliency resource names', doc('  listeners:\n    - name: l\n      address: 0\n      routes:\n        - cluster: c\n          resiliency: { retry: nothere }\n  clusters:\n    - name: c\n      endpoints: ["127.0.0.1:1"]\n'), /^p\.yaml:11: spec\.listeners\.0\.routes\.0\.resiliency: no retry policy named "nothere"/],
    ['duplicate listener names', doc('  listeners:\n    - name: l\n      address: 0\n    - name: l\n      address: 0\n'), /^p\.yaml:9: spec\.listeners\.1\.name: listener name "l" is already used by MeshProxy mp/],
  ])('%s', async (_case, yaml, want) => {
    expect(await startupError({ 'p.yaml': yaml })).toMatch(want);
  });

  it('a taken port names the listener and address', async () => {
    const port = (taken.address() as { port: number }).port;
    expect(await startupError({ 'p.yaml': doc(`  listeners:\n    - name: busy\n      address: 127.0.0.1:${port}\n`) })).toMatch(new RegExp(`^p\\.yaml:8: spec\\.listeners\\.0\\.address: listener busy: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });

  it('honours scopes: a resource scoped to other apps is left out', async () => {
    expect(await startupError({ 'p.yaml': doc('  listeners:\n    - name: l\n      address: 0\n', 'scopes: [other]\n') })).toBe('not started');
    expect(await startupError({ 'p.yaml': doc('  listeners:\n    - name: l\n      address: 0\n', 'scopes: [me]\n') })).toBeUndefined();
  });
});
