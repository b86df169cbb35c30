import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfiguration } from './configuration';

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'config-')), 'config.yaml');
  writeFileSync(f, text);
  return f;
}

const HEAD = 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\n';

describe('loadConfiguration', () => {
  it('reads spec.secrets.scopes and ignores other spec keys', () => {
    const f = file(
      HEAD +
        'spec:\n  tracing: {samplingRate: "1"}\n  secrets:\n    scopes:\n' +
        '      - storeName: vault\n        defaultAccess: deny\n        allowedSecrets: [a]\n' +
        '      - storeName: env\n        deniedSecrets: [HOME]\n',
    );
    expect(loadConfiguration([f]).secrets.scopes).toEqual([
      { storeName: 'vault', defaultAccess: 'deny', allowedSecrets: ['a'], deniedSecrets: [] },
      { storeName: 'env', allowedSecrets: [], deniedSecrets: ['HOME'] },
    ]);
  });

  it('reads spec.mtls.enabled (the last file that sets it), ignoring its Sentry settings', () => {
    const on = file(HEAD + 'spec:\n  mtls:\n    enabled: true\n    workloadCertTTL: 24h\n    allowedClockSkew: 15m\n');
    expect(loadConfiguration([on]).mtlsEnabled).toBe(true);
    expect(loadConfiguration([on, file(HEAD + 'spec:\n  mtls: {enabled: false}\n')]).mtlsEnabled).toBe(false);
    expect(loadConfiguration([on, file(HEAD + 'spec: {}\n')]).mtlsEnabled).toBe(true);
    expect(loadConfiguration([]).mtlsEnabled).toBeUndefined();
    expect(() => loadConfiguration([file(HEAD + 'spec:\n  mtls:\n    enabled: maybe\n')])).toThrow(/spec\.mtls\.enabled/);
  });

  it('no files or no secrets section: no scopes', () => {
    expect(loadConfiguration([]).secrets.scopes).toEqual([]);
    expect(loadConfiguration([file(HEAD + 'spec: {}\n')]).secrets.scopes).toEqual([]);
    expect(loadConfiguration([file(HEAD)]).secrets.scopes).toEqual([]);
  });

  it('names file and line of a bad defaultAccess, a repeated storeName, a wrong kind and bad YAML', () => {
    const bad = file(HEAD + 'spec:\n  secrets:\n    scopes:\n      - storeName: vault\n        defaultAccess: maybe\n');
    expect(() => loadConfiguration([bad])).toThrow(/config\.yaml:9: spec\.secrets\.scopes\.0\.defaultAccess: defaultAccess can be either allow or deny/);
    const dup = file(HEAD + 'spec:\n  secrets:\n    scopes:\n      - storeName: vault\n      - storeName: vault\n');
    expect(() => loadConfiguration([dup])).toThrow(/config\.yaml:9: .*"vault" storeName is repeated/);
    expect(() => loadConfiguration([file('apiVersion: v1\nkind: Component\n')])).toThrow(/config\.yaml:2: kind:/);
    expect(() => loadConfiguration([file('spec: [\n')])).toThrow(/YAML syntax error/);
    expect(() => loadConfiguration(['/nonexistent/config.yaml'])).toThrow(/cannot read configuration/);
  });
});
