import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfiguration } from './configuration';

function file(spec: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'acl-config-')), 'config.yaml');
  writeFileSync(f, `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n${spec}`);
  return f;
}

describe('spec.accessControl', () => {
  it("reads daprd's shape: defaults, policies with operations and verbs", () => {
    const f = file(`  accessControl:
    defaultAction: deny
    trustDomain: "public"
    policies:
    - appId: app1
      defaultAction: allow
      trustDomain: 'public'
      namespace: "default"
      operations:
      - name: /op1
        httpVerb: ['POST', 'GET']
        action: deny
      - name: /op2/*
        httpVerb: ["*"]
        action: allow
`);
    expect(loadConfiguration([f]).accessControl).toEqual({
      defaultAction: 'deny',
      trustDomain: 'public',
      policies: [
        {
          appId: 'app1',
          defaultAction: 'allow',
          trustDomain: 'public',
          namespace: 'default',
          operations: [
            { name: '/op1', httpVerb: ['POST', 'GET'], action: 'deny' },
            { name: '/op2/*', httpVerb: ['*'], action: 'allow' },
          ],
        },
      ],
    });
  });

  it('keeps an absent policies key apart from an empty list; unset fields are empty', () => {
    expect(loadConfiguration([file('  accessControl:\n    trustDomain: td\n')]).accessControl).toEqual({ defaultAction: '', trustDomain: 'td', policies: undefined });
    expect(loadConfiguration([file('  accessControl:\n    policies: []\n')]).accessControl).toEqual({ defaultAction: '', trustDomain: '', policies: [] });
    expect(loadConfiguration([file('  tracing: {samplingRate: "1"}\n')]).accessControl).toBeUndefined();
  });

  it('the last file with one wins', () => {
    const a = file('  accessControl: {defaultAction: deny}\n');
    const b = file('  accessControl: {defaultAction: allow}\n');
    expect(loadConfiguration([a, b]).accessControl?.defaultAction).toBe('allow');
  });

  it('a policy without appId, trustDomain or namespace, or an action other than allow/deny, stops startup at its line', () => {
    const noNs = file('  accessControl:\n    policies:\n    - appId: a\n      trustDomain: public\n');
    expect(() => loadConfiguration([noNs])).toThrow(/config\.yaml:8.*spec\.accessControl\.policies\.0\.namespace.*namespace is required/);
    const noApp = file('  accessControl:\n    policies:\n    - trustDomain: public\n      namespace: default\n');
    expect(() => loadConfiguration([noApp])).toThrow(/spec\.accessControl\.policies\.0\.appId.*appId is required/);
    const badAction = file('  accessControl:\n    defaultAction: alow\n');
    expect(() => loadConfiguration([badAction])).toThrow(/config\.yaml:7.*spec\.accessControl\.defaultAction.*must be allow or deny/);
  });
});
