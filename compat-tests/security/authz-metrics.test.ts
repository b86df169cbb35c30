// daprd's access control metrics on the callee sidecar: each decision counts once in
// dapr_runtime_acl_{app,global}_policy_action_{allowed,blocked}_total, by which policy decided (the
// caller's app policy with its own defaultAction, else the global default) and labelled with the
// caller's app id, trust domain and namespace. Callers X, Y, Z (sidecars without apps) call app B
// over HTTP invocation; B's Configuration denies by default, X's policy decides for X itself, Z's
// (no defaultAction) leaves the outcome to the global default unless an operation matches.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlainApp } from '../helpers/invoke';
import { type Sidecar, type SidecarOptions, startSidecar, waitHealthy } from '../helpers/sidecar';

const X = 'aclm-x';
const Y = 'aclm-y';
const Z = 'aclm-z';
const B = 'aclm-b';
const STARTUP_MS = 60_000;

/** A policy letting `appId` POST /allowed/*; its own defaultAction only when given. */
const policy = (appId: string, defaultAction?: string) =>
  [`- appId: ${appId}`, ...(defaultAction ? [`  defaultAction: ${defaultAction}`] : []), '  trustDomain: public', '  namespace: default', '  operations:', '  - {name: /allowed/*, httpVerb: [POST], action: allow}'].map((l) => `    ${l}`).join('\n');
const B_CONFIG = join(mkdtempSync(join(tmpdir(), 'authz-metrics-')), 'b.yaml');
writeFileSync(B_CONFIG, ['kind: Configuration', 'apiVersion: dapr.io/v1alpha1', 'metadata: {name: b}', 'spec:', '  accessControl:', '    defaultAction: deny', '    trustDomain: public', '    policies:', policy(X, 'deny'), policy(Z)].join('\n'));

/** The value of one sample of `family` whose labels include all of `labels` (0 when absent). */
function sample(text: string, family: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== family) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('dapr_runtime_acl_* metrics on the callee sidecar', () => {
  const app = new PlainApp();
  const sc: Record<string, Sidecar> = {};

  beforeAll(async () => {
    await app.start();
    const start = async (o: SidecarOptions) => {
      const s = await startSidecar({ ...o, layotto: false, wait: false });
      await waitHealthy(s, STARTUP_MS);
      return s;
    };
    sc[B] = await start({ appId: B, args: ['--app-port', String(app.port), '--config', B_CONFIG] });
    for (const id of [X, Y, Z]) sc[id] = await start({ appId: id });
  }, 5 * STARTUP_MS);
  afterAll(async () => {
    await Promise.all(Object.values(sc).map((s) => s.stop()));
    await app.stop();
  });

  const invoke = (caller: string, method: string, verb: string) => fetch(`http://127.0.0.1:${sc[caller]!.httpPort}/v1.0/invoke/${B}/method/${method}`, { method: verb, ...(verb === 'GET' ? {} : { body: '{}' }) }).then((r) => r.status);
  const scrape = () => fetch(`http://127.0.0.1:${sc[B]!.metricsPort}/metrics`).then((r) => r.text());
  const caller = (id: string) => ({ app_id: id, trustDomain: 'public', namespace: 'default' });

  it('each decision counts once under the policy that made it, labelled with the caller', async () => {
    expect(await invoke(X, 'allowed/one', 'POST')).toBe(200); // X's policy: allowed
    expect(await invoke(X, 'allowed/two', 'POST')).toBe(200);
    expect(await invoke(X, 'other', 'GET')).toBe(403); // X's policy default: blocked
    expect(await invoke(Y, 'allowed/one', 'POST')).toBe(403); // no policy for Y: global deny
    expect(await invoke(Z, 'allowed/one', 'POST')).toBe(200); // Z's operation allows; Z has no default of its own
    expect(await invoke(Z, 'other', 'GET')).toBe(403); // falls to the global default

    const text = await scrape();
    expect(sample(text, 'dapr_runtime_acl_app_policy_action_allowed_total', caller(X))).toBe(2);
    expect(sample(text, 'dapr_runtime_acl_app_policy_action_blocked_total', caller(X))).toBe(1);
    expect(sample(text, 'dapr_runtime_acl_global_policy_action_blocked_total', caller(Y))).toBe(1);
    expect(sample(text, 'dapr_runtime_acl_global_policy_action_allowed_total', caller(Z))).toBe(1);
    expect(sample(text, 'dapr_runtime_acl_global_policy_action_blocked_total', caller(Z))).toBe(1);
    expect(sample(text, 'dapr_runtime_acl_app_policy_action_allowed_total', caller(Y))).toBe(0);
    // The callers' sidecars decide nothing: no samples there.
    const callerText = await fetch(`http://127.0.0.1:${sc[X]!.metricsPort}/metrics`).then((r) => r.text());
    expect(callerText).not.toMatch(/^dapr_runtime_acl_\w+\{/m);
  });
});
