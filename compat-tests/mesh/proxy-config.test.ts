// MeshProxy resources the built sidecar refuses, each named by file:line and field, and scopes:
// a proxy scoped to another app is not started.
import { freePort, startSidecar } from '../helpers/sidecar';

const doc = (spec: string, extra = '') => `apiVersion: layotto.io/v1
kind: MeshProxy
metadata:
  name: bad
${extra}spec:
${spec}`;

async function refused(resources: Record<string, string>): Promise<string> {
  const sc = await startSidecar({ appId: 'mesh-config', resources, wait: false });
  const code = await sc.exited;
  expect(code).not.toBe(0);
  return sc.output();
}

// The other refusals (unknown filter type, bad regex, schema errors, a taken port) are covered
// without spawning the binary in src/runtime/mesh-proxy.test.ts.
describe('bad MeshProxy resources stop startup with file:line', () => {
  it('a route to an unknown cluster', async () => {
    const yaml = doc(`  listeners:\n    - name: l\n      address: 0\n      routes:\n        - match: { pathPrefix: / }\n          cluster: nope\n`);
    expect(await refused({ 'proxy.yaml': yaml })).toMatch(/proxy\.yaml:11: spec\.listeners\.0\.routes\.0\.cluster: no cluster named \\?"nope\\?"/);
  });

  it('names must be unique across resources', async () => {
    const one = doc(`  clusters:\n    - name: shared\n      endpoints: ["127.0.0.1:1"]\n`);
    expect(await refused({ 'a.yaml': one, 'b.yaml': one.replace('name: bad', 'name: other') })).toMatch(/b\.yaml:7: spec\.clusters\.0\.name: cluster name \\?"shared\\?" is already used by MeshProxy bad/);
  });
});

describe('scopes', () => {
  it('a proxy scoped to another app is not started', async () => {
    const port = await freePort();
    const sc = await startSidecar({ appId: 'mesh-config', resources: { 'proxy.yaml': doc(`  listeners:\n    - name: l\n      address: 127.0.0.1:${port}\n`, 'scopes: [someone-else]\n') } });
    try {
      const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as Record<string, unknown>;
      expect(md.meshProxy).toBeUndefined();
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      await sc.stop();
    }
  });
});
